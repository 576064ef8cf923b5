// The test's side of an agent (hw-tests/mesh/agent.ts): a child process — usually inside a network
// namespace — that runs the functions of an ops module on request. JSON lines over stdio:
//
//   child  → {"ready":true,"pid":123}                               once the ops module is loaded
//   test   → {"id":1,"op":"connect","args":{"name":"thermo"}}
//   child  → {"id":1,"ok":true,"result":{...}}                       or
//   child  → {"id":1,"ok":false,"error":{"code":401,"name":"Unavailable","message":"..."}}
//   child  → {"event":"progress","data":{...}}                       any time, unsolicited
//
// Lines on stdout that are not JSON objects (a library printing) go to `log` with stderr. When
// the test's end of stdin closes, the agent exits: a test process that dies takes its agents along.
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopProcess } from '../lib/procs.ts';

/** A failed op: the error the ops function threw, by code (CellError) or name. */
export class AgentError extends Error {
  constructor(readonly op: string, readonly code: number | undefined, readonly errName: string, message: string) {
    super(`${op}: ${errName}${code !== undefined ? ` (${code})` : ''}: ${message}`);
  }
}

export interface AgentEvent { event: string; data: unknown }

export interface Agent {
  readonly label: string;
  readonly pid: number;
  /** Events received so far, in order. */
  readonly events: readonly AgentEvent[];
  /** stderr and non-JSON stdout, for failure messages. */
  readonly log: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly running: boolean;
  /** Run op in the child. Rejects AgentError when the op throws, Error on timeout or exit. @default timeoutMs 60000 */
  call<T = unknown>(op: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Resolve with the first event (already received or later) named `event` that passes `pred`. @default timeoutMs 60000 */
  waitEvent(event: string, pred?: (data: unknown) => boolean, timeoutMs?: number): Promise<unknown>;
  /** Kill the child (SIGKILL unless told otherwise) and wait for it. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Close its stdin (the agent exits on its own), SIGTERM then SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL without waiting (exit hooks). */
  killSync(): void;
}

export interface StartAgentOptions {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  label: string;
  /** @default 30000 */
  readyTimeoutMs?: number;
  /**
   * Wait for the agent's {"ready":true} line. false: any program that prints JSON-line events
   * (`cell gateway --json`); start resolves at once and `call` is not used. @default true
   */
  waitReady?: boolean;
}

interface Pending { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout; op: string }

export async function startAgent(opts: StartAgentOptions): Promise<Agent> {
  const child: ChildProcess = spawnTracked(opts.argv[0]!, opts.argv.slice(1), {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  let log = '';
  const events: AgentEvent[] = [];
  const waiters = new Set<{ event: string; pred: (d: unknown) => boolean; resolve(d: unknown): void }>();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ready: ((pid: number) => void) | null = null;
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${opts.label}: ${p.op}: the agent exited (${code ?? signal}) before answering\n${log.slice(-4000)}`));
      }
      pending.clear();
      resolve(exitInfo);
    });
  });

  const onLine = (line: string): void => {
    if (!line.startsWith('{')) { log += line + '\n'; return; }
    let msg: Record<string, unknown>;
    try { msg = JSON.parse(line) as Record<string, unknown>; } catch { log += line + '\n'; return; }
    if (msg.ready === true) { ready?.(Number(msg.pid)); return; }
    if (typeof msg.event === 'string') {
      // Agents send {event, data}; other programs (cell gateway --json) put the fields beside `event`.
      const ev = { event: msg.event, data: 'data' in msg ? msg.data : msg };
      events.push(ev);
      for (const w of waiters) if (w.event === ev.event && w.pred(ev.data)) { waiters.delete(w); w.resolve(ev.data); }
      return;
    }
    const p = pending.get(Number(msg.id));
    if (p === undefined) return;
    pending.delete(Number(msg.id));
    clearTimeout(p.timer);
    if (msg.ok === true) p.resolve(msg.result);
    else {
      const e = (msg.error ?? {}) as { code?: number; name?: string; message?: string };
      p.reject(new AgentError(p.op, e.code, e.name ?? 'Error', e.message ?? ''));
    }
  };
  let buf = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) { onLine(buf.slice(0, nl)); buf = buf.slice(nl + 1); }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { log += d; if (log.length > 200_000) log = log.slice(-100_000); });
  child.stdin!.on('error', () => { /* the child is gone; exit handles it */ });

  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const pid = opts.waitReady === false ? child.pid! : await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${opts.label}: agent not ready within ${readyTimeoutMs} ms\n${log}`)); }, readyTimeoutMs);
    ready = (p) => { clearTimeout(timer); resolve(p); };
    void exited.then((x) => { clearTimeout(timer); reject(new Error(`${opts.label}: agent exited (${x.code ?? x.signal}) before it was ready\n${log}`)); });
  });

  const agent: Agent = {
    label: opts.label,
    pid,
    events,
    get log() { return log; },
    exited,
    get running() { return exitInfo === null; },
    call<T>(op: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
      if (exitInfo !== null) return Promise.reject(new Error(`${opts.label}: ${op}: the agent has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${opts.label}: ${op}: no answer within ${timeoutMs} ms\n${log.slice(-4000)}`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer, op });
        child.stdin!.write(JSON.stringify({ id, op, args }) + '\n');
      });
    },
    waitEvent(event, pred = () => true, timeoutMs = 60_000) {
      const seen = events.find((e) => e.event === event && pred(e.data));
      if (seen !== undefined) return Promise.resolve(seen.data);
      return new Promise((resolve, reject) => {
        const w = { event, pred, resolve: (d: unknown) => { clearTimeout(timer); resolve(d); } };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`${opts.label}: no "${event}" event within ${timeoutMs} ms\n${log.slice(-4000)}`)); }, timeoutMs);
        waiters.add(w);
      });
    },
    async kill(signal = 'SIGKILL') {
      if (exitInfo !== null) return;
      child.kill(signal);
      await exited;
    },
    async stop(graceMs = 2000) {
      if (exitInfo !== null) return;
      child.stdin!.end();
      const quit = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs))]);
      if (!quit) await stopProcess(child, graceMs);
    },
    killSync() {
      if (exitInfo === null) try { child.kill('SIGKILL'); } catch { /* gone */ }
    },
  };
  return agent;
}
