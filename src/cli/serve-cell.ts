// `cell run --foreground`: serve a cell directory until SIGTERM/SIGINT (docs/cli.md "cell run").
// Order matters: refuse a live instance, load the module, write the pid file, listen (so a socket
// without a pid file is always stale), then log "start". On a signal: stop accepting, GOODBYE to
// every client, wait for calls in flight (at most graceMs), remove the run files, log "stop".
// Limits (docs/cli.md "cell run", "Limits"): every socket has the rpc layer's liveness rules
// (heartbeat, HELLO timeout: a peer that completes no frame in 2.5 heartbeats — a stalled partial
// frame included — is dropped); the app sockets together accept at most maxConnections and the ops
// socket opsMaxConnections; one more is closed at once (logged as Overloaded, 408), except that
// a connection that has not sent its HELLO after HELLO_GRACE_MS gives its place to the newcomer.
import { listenTcp, listenUnix, type Link, type LinkListener } from '../transports/index.ts';
import { acceptShm, ShmUpgradeLink } from '../shm/index.ts';
import { serve, type CellDef, type Connection, type Impl, type Server } from '../rpc/index.ts';
import { ERR_RPC_OVERLOADED } from '../wire/errors.ts';
import { CliError } from './errors.ts';
import type { CellDir } from './cell-dir.ts';
import { Logger, type Level } from './log.ts';
import { importCellModule } from './loader.ts';
import { Ops } from './ops.ts';
import { DEFAULT_SOCKET_MODE, finishSockets, groupShared, planSockets, privateDir, removeSocket, stateDir } from './run-files.ts';
import { inspectRun, removeRunFiles, socketAnswers, writeRunInfo } from './run-state.ts';

/** Open connections over the app sockets (Unix and TCP together) when cell.toml and the flag set none. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Open connections to the ops socket (`cell status`): a few at a time is all it needs. */
export const DEFAULT_OPS_MAX_CONNECTIONS = 16;
/** Largest frame on the ops socket: its frames are a HELLO and a few counters (< 1 KiB). */
export const OPS_MTU = 65536;
/**
 * A client sends its HELLO as soon as it is connected (within a millisecond on one host): a
 * connection still without one after this long may be evicted to make room when the limit is
 * reached (it would be dropped at the HELLO timeout anyway).
 */
export const HELLO_GRACE_MS = 1000;

export interface ForegroundOptions {
  /** Also listen on TCP "host:port". @default cell.toml [run].tcp, else none */
  tcp?: string;
  /** @default cell.toml [run].log_level, else 'info' */
  logLevel?: Level;
  /** Also print log lines to stderr. @default false */
  echo?: boolean;
  /** How long calls in flight may finish after a stop signal. @default 5000 */
  graceMs?: number;
  /** Open connections over the app sockets. @default cell.toml [run].max_connections, else 1024 */
  maxConnections?: number;
  /** Take local clients' shared-memory offers (docs/shm.md §6). @default cell.toml [run].shm, else true */
  shm?: boolean;
  /** Open connections to the ops socket. @default 16 */
  opsMaxConnections?: number;
  /** Called once listening (tests, and the detached parent's output). */
  onReady?: (info: { socket: string; tcp?: string }) => void;
}

interface Totals { conns: number; calls: number; errors: number; events: number; refused: number }

/** Serve until a stop signal. Resolves with the exit code. */
export async function runForeground(cd: CellDir, opts: ForegroundOptions = {}): Promise<number> {
  const paths = cd.paths;
  const socketMode = cd.run.socketMode ?? DEFAULT_SOCKET_MODE;
  stateDir(paths.state);
  privateDir(paths.runDir, groupShared(socketMode) ? 0o710 : 0o700);
  privateDir(paths.logDir, 0o700);
  const st = inspectRun(paths);
  if (st.state === 'running' && st.info.pid !== process.pid) {
    throw new CliError(`${cd.name} is already running (pid ${st.info.pid}, socket ${st.info.socket})`, {
      name: 'AlreadyRunning', fix: `stop it first: \`cell stop ${cd.dir}\`, or call it: \`cell call ${cd.dir} <method>\``,
    });
  }
  if (await socketAnswers(paths.socket)) {
    throw new CliError(`something already answers on ${paths.socket}`, { name: 'AlreadyRunning', fix: 'stop the process that owns the socket' });
  }
  const log = new Logger(paths.logFile, {
    level: opts.logLevel ?? cd.run.logLevel ?? 'info',
    base: { cell: cd.name, pid: process.pid },
    echo: opts.echo === true ? (l) => process.stderr.write(l) : undefined,
  });
  if (st.state === 'stale') log.warn('removed files of a previous run that is gone', { removed: st.removed, oldPid: st.info?.pid });

  let mod;
  try {
    mod = await importCellModule(cd.entry);
  } catch (e) {
    log.error('load failed', { entry: cd.entry, error: e });
    log.close();
    throw e;
  }
  const def = mod.cell;
  if (def.name !== cd.name) {
    log.close();
    throw new CliError(`cell.toml says name = "${cd.name}" but ${cd.entry} defines cell "${def.name}"`, {
      name: 'BadCellToml', fix: 'make the two names the same (the name is part of every method key)',
    });
  }

  const tcp = opts.tcp ?? cd.run.tcp;
  const maxConns = opts.maxConnections ?? cd.run.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const opsMax = opts.opsMaxConnections ?? DEFAULT_OPS_MAX_CONNECTIONS;
  let plan;
  try {
    plan = planSockets(cd.dir, paths, socketMode);
  } catch (e) {
    log.error('no place for the sockets', { error: e });
    log.close();
    throw e;
  }
  const startedAt = Date.now();
  writeRunInfo(paths, {
    pid: process.pid, name: cd.name, version: def.version, socket: paths.socket,
    ...(tcp !== undefined ? { tcp } : {}), startedAt: new Date(startedAt).toISOString(), node: process.version,
  });

  const totals: Totals = { conns: 0, calls: 0, errors: 0, events: 0, refused: 0 };
  const servers: { server: Server; listener: LinkListener; via: string }[] = [];
  const impl = instrument(def, mod.impl, log);
  let ops: Server | null = null;
  let opsListener: LinkListener | null = null;
  const appLimit = new ConnLimit(maxConns, 'app', log, totals);
  const opsLimit = new ConnLimit(opsMax, 'ops', log, null);
  try {
    const ul = await listenUnix(plan.socket);
    // Every local client may offer shared memory; refused (it stays on the socket) when turned off.
    const shmOn = opts.shm ?? cd.run.shm ?? true;
    const onUpgrade = (state: 'shm' | 'refused', reason?: string): void => { log.debug(state === 'shm' ? 'shm upgrade' : 'shm refused', reason !== undefined ? { reason } : {}); };
    const shl = acceptShm(ul, shmOn ? { onUpgrade } : { refuse: 'shared memory is turned off on this cell (cell run --no-shm or [run].shm = false)', onUpgrade });
    servers.push({ server: track(serve(def, impl, shl), shl, 'unix', log, totals, appLimit), listener: shl, via: 'unix' });
    if (tcp !== undefined) {
      const i = tcp.lastIndexOf(':');
      const tl = await listenTcp(Number(tcp.slice(i + 1)), tcp.slice(0, i) || '127.0.0.1');
      servers.push({ server: track(serve(def, impl, tl), tl, 'tcp', log, totals, appLimit), listener: tl, via: 'tcp' });
    }
    // The ops socket: the same liveness rules as the app sockets (serve()'s defaults: heartbeat
    // 1000 ms, HELLO timeout 5000 ms), a small MTU and its own small connection limit.
    opsListener = await listenUnix(plan.opsSocket, { mtu: OPS_MTU });
    ops = serve(Ops, {
      counters: () => {
        let open = 0, calls = totals.calls, errors = totals.errors, events = totals.events;
        for (const { server } of servers) {
          for (const c of server.connections) { open++; calls += c.stats.callsIn; errors += c.stats.errorsOut; events += c.stats.eventsOut; }
        }
        return { pid: process.pid, name: cd.name, version: def.version, uptimeMs: Date.now() - startedAt, connections: open, connectionsTotal: totals.conns, callsIn: calls, errorsOut: errors, eventsOut: events };
      },
    }, opsListener);
    limitListener(ops, opsListener, opsLimit);
    finishSockets(paths, plan, socketMode);
  } catch (e) {
    for (const s of servers) void s.listener.close();
    void opsListener?.close();
    removeRunFiles(paths);
    if (plan.shortDir !== null) { removeSocket(plan.socket); removeSocket(plan.opsSocket); }
    const err = e as NodeJS.ErrnoException;
    log.error('listen failed', { error: err });
    log.close();
    const onTcp = err.code === 'EADDRINUSE' && typeof (err as { port?: unknown }).port === 'number';
    throw new CliError(`cannot listen: ${err.message}`, {
      name: 'ListenFailed',
      fix: onTcp ? 'pick another --tcp port, or stop what uses it'
        : err.code === 'EADDRINUSE' ? `something else holds the socket path: stop it, or remove the file (${plan.socket})`
        : 'check the path and permissions of .cell/run/',
    });
  }

  let stopHook: void | (() => void | Promise<void>);
  try {
    stopHook = mod.start?.({ emit: (ev: never, v: never) => servers.reduce((n, s) => n + s.server.emit(ev, v), 0) } as Pick<Server, 'emit'>);
  } catch (e) {
    log.error('start() of the cell failed', { error: e });
  }
  log.info('start', {
    version: def.version, socket: paths.socket, ...(plan.shortDir !== null ? { boundAt: plan.socket } : {}), ...(tcp !== undefined ? { tcp } : {}), entry: cd.entry, node: process.version,
    maxConnections: maxConns, socketMode: `0${socketMode.toString(8)}`,
    methods: def.entries.filter((e) => e.kind === 'method').map((e) => e.name),
  });
  opts.onReady?.({ socket: paths.socket, ...(tcp !== undefined ? { tcp } : {}) });

  return await new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = async (reason: string, code: number): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log.info('stopping', { reason });
      try { await stopHook?.(); } catch (e) { log.error('stop hook of the cell failed', { error: e }); }
      // Stop accepting now (net.Server.close resolves only once every connection has ended), then
      // GOODBYE: calls in flight finish, new ones fail Closed.
      const listening = servers.map((s) => s.listener.close());
      appLimit.clear();
      const goodbyes = servers.flatMap((s) => [...s.server.connections].map((c) => c.goodbye()));
      const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.graceMs ?? 5000).unref());
      if ((await Promise.race([Promise.all(goodbyes), grace])) === 'timeout') log.warn('calls still in flight after the grace period: closing', { graceMs: opts.graceMs ?? 5000 });
      await Promise.all(servers.map((s) => s.server.close()));
      await Promise.race([Promise.all(listening), grace]);
      opsLimit.clear();
      await ops?.close();
      await opsListener?.close();
      removeRunFiles(paths);
      let calls = totals.calls;
      for (const { server } of servers) for (const c of server.connections) calls += c.stats.callsIn;
      log.info('stop', { reason, uptimeMs: Date.now() - startedAt, calls, connections: totals.conns, ...(totals.refused > 0 ? { refused: totals.refused } : {}) });
      log.close();
      resolveExit(code);
    };
    process.once('SIGTERM', () => void stop('SIGTERM', 0));
    process.once('SIGINT', () => void stop('SIGINT', 0));
    process.on('uncaughtException', (e) => { log.error('uncaught exception', { error: e, stack: e.stack }); void stop('uncaught exception', 1); });
    process.on('unhandledRejection', (e) => { log.error('unhandled rejection', { error: e }); void stop('unhandled rejection', 1); });
  });
}

/**
 * A limit on open connections, shared by the listeners it is given to. At the limit a new link
 * waits at most WAIT_MS for a place (the first to close gives it), then is closed (reset, nothing
 * sent: a GOODBYE carries no reason and no HELLO was exchanged, so the client sees the link close
 * before HELLO). The wait is for clients that close a connection and open the next at once —
 * `cell call` does (describe, then call): their end of stream reaches us after the new connection
 * does. At most MAX_WAITING wait; more are closed at once. A connection that has gone
 * HELLO_GRACE_MS without a HELLO gives its place to a newcomer, so connections that never speak
 * cannot keep `cell status` or callers out. Refusals and evictions are counted and logged (warn;
 * refusals with code 408 Overloaded) at most once a second each, with the count since the last
 * line, so a flood cannot fill the disk with log lines.
 */
export class ConnLimit {
  static readonly WAIT_MS = 200;
  static readonly MAX_WAITING = 64;
  /** Admitted and still open, with when they were accepted. */
  readonly open = new Map<Connection, { link: Link; at: number }>();
  private readonly waiting: { link: Link; via: string; accept: () => void; timer: NodeJS.Timeout }[] = [];
  refused = 0;
  evicted = 0;
  private unlogged = 0;
  private loggedAt = -Infinity;
  private evictedUnlogged = 0;
  private evictedLoggedAt = -Infinity;
  constructor(readonly max: number, private readonly which: string, private readonly log: Logger, private readonly totals: Totals | null) {}

  /** Run `accept` now if there is room (made by evicting a silent connection if need be), or once a place frees up; else refuse the link. */
  gate(via: string, link: Link, accept: () => void): void {
    if (this.room(via)) { accept(); return; }
    if (this.waiting.length >= ConnLimit.MAX_WAITING) { this.refuse(via, link); return; }
    const w = {
      link, via, accept,
      timer: setTimeout(() => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        this.refuse(via, link);
      }, ConnLimit.WAIT_MS),
    };
    this.waiting.push(w);
  }

  private room(via: string): boolean {
    if (this.open.size < this.max) return true;
    const now = performance.now();
    for (const [conn, o] of this.open) { // oldest first (insertion order)
      if (conn.peer === null && now - o.at >= HELLO_GRACE_MS) {
        this.open.delete(conn);
        this.evicted++;
        this.evictedUnlogged++;
        resetLink(o.link);
        if (now - this.evictedLoggedAt >= 1000) {
          this.log.warn('evicted', { socket: this.which, via, why: `no HELLO within ${Math.round(now - o.at)} ms while at the connection limit`, limit: this.max, evicted: this.evictedUnlogged, evictedTotal: this.evicted });
          this.evictedLoggedAt = now;
          this.evictedUnlogged = 0;
        }
        return true;
      }
    }
    return false;
  }

  private refuse(via: string, link: Link): void {
    resetLink(link);
    this.refused++;
    if (this.totals !== null) this.totals.refused++;
    this.unlogged++;
    const now = performance.now();
    if (now - this.loggedAt >= 1000) {
      this.log.warn('refused', { socket: this.which, via, error: { name: 'Overloaded', code: ERR_RPC_OVERLOADED, message: `${this.open.size} connections open, the limit is ${this.max}` }, refused: this.unlogged, refusedTotal: this.refused });
      this.loggedAt = now;
      this.unlogged = 0;
    }
  }

  added(conn: Connection, link: Link): void {
    this.open.set(conn, { link, at: performance.now() });
    conn.onClose(() => {
      this.open.delete(conn);
      while (this.waiting.length > 0 && this.open.size < this.max) {
        const w = this.waiting.shift()!;
        clearTimeout(w.timer);
        w.accept();
      }
    });
  }

  /** Refuse every link still waiting (shutdown). */
  clear(): void {
    for (const w of this.waiting.splice(0)) { clearTimeout(w.timer); resetLink(w.link); }
  }
}

/** Close a link at once: reset it (nothing queued to flush, no linger). */
function resetLink(link: Link): void {
  const d = (link as { destroy?: () => void }).destroy;
  if (typeof d === 'function') d.call(link);
  else link.close();
}

/** The connection serve() just made for a link: the newest of the set. */
function newest(server: Server): Connection | undefined {
  let conn: Connection | undefined;
  for (const c of server.connections) conn = c;
  return conn;
}

/** Put a listener that serve() took under a connection limit. */
function limitListener(server: Server, listener: LinkListener, limit: ConnLimit, via = 'unix'): void {
  const accept = listener.onLink!;
  listener.onLink = (link) => {
    limit.gate(via, link, () => {
      accept(link);
      const conn = newest(server);
      if (conn !== undefined) limit.added(conn, link);
    });
  };
}

/** Log each connection (info), keep the counters of the ones that closed, apply the limit. */
function track(server: Server, listener: LinkListener, via: string, log: Logger, totals: Totals, limit: ConnLimit): Server {
  const accept = listener.onLink!;
  listener.onLink = (link) => { limit.gate(via, link, () => { admitted(link); }); };
  const admitted = (link: Link): void => {
    accept(link);
    const conn = newest(server);
    if (conn === undefined) return;
    limit.added(conn, link);
    const id = ++totals.conns;
    log.info('connect', { conn: id, via });
    const c = conn;
    c.ready.then((h) => log.debug('hello', { conn: id, peer: h.cellName || '(anonymous)' }), () => {});
    c.onClose((err) => {
      totals.calls += c.stats.callsIn; totals.errors += c.stats.errorsOut; totals.events += c.stats.eventsOut;
      // A local client that offered shared memory: where its calls went ('shm', or 'refused').
      const shm = link instanceof ShmUpgradeLink && link.state !== 'socket' ? { shm: link.state } : {};
      const fields = { conn: id, calls: c.stats.callsIn, errors: c.stats.errorsOut, ...shm };
      if (err === null || err.code === 500) log.info('disconnect', fields);
      else log.warn('disconnect', { ...fields, error: err });
    });
  };
  return server;
}

/** A handler's error that the rpc layer will turn into Internal: log it (always). */
function unexpected(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return !(typeof code === 'number' && (code >= 1000 || (code >= 400 && code <= 409)));
}

/**
 * Wrap the handlers: unexpected exceptions are logged at error level; at debug level every call
 * is logged with its duration and outcome. `this` stays the original impl object.
 */
function instrument(def: CellDef, impl: Impl<CellDef>, log: Logger): Impl<CellDef> {
  const debug = log.enabled('debug');
  const out: Record<string, unknown> = {};
  const outcome = (name: string, id: number, t0: number, e?: unknown): void => {
    if (e !== undefined && unexpected(e)) log.error('handler failed', { method: name, call: id, error: e, stack: (e as Error)?.stack });
    else if (debug) {
      const ms = Math.round((performance.now() - t0) * 1000) / 1000;
      log.debug('call', e === undefined ? { method: name, call: id, ms, ok: true } : { method: name, call: id, ms, error: { name: (e as Error).name, code: (e as { code?: number }).code } });
    }
  };
  for (const entry of def.entries) {
    if (entry.kind === 'event') continue;
    const name = entry.name;
    const fn = (impl as Record<string, (req: unknown, ctx: { callId: number }) => unknown>)[name]!;
    if (entry.kind === 'method') {
      out[name] = (req: unknown, ctx: { callId: number }) => {
        const t0 = debug ? performance.now() : 0;
        const id = ctx.callId; // ctx is pooled: read it now
        let r: unknown;
        try { r = fn.call(impl, req, ctx); } catch (e) { outcome(name, id, t0, e); throw e; }
        if (r !== null && typeof r === 'object' && typeof (r as PromiseLike<unknown>).then === 'function') {
          (r as PromiseLike<unknown>).then(debug ? () => outcome(name, id, t0) : undefined, (e: unknown) => outcome(name, id, t0, e));
        } else if (debug) outcome(name, id, t0);
        return r;
      };
    } else {
      out[name] = (req: unknown, ctx: { callId: number }) => {
        const t0 = debug ? performance.now() : 0;
        const id = ctx.callId;
        let src: AsyncIterable<unknown> | Iterable<unknown>;
        try { src = fn.call(impl, req, ctx) as AsyncIterable<unknown>; } catch (e) { outcome(name, id, t0, e); throw e; }
        return (async function* () {
          try { yield* src; } catch (e) { outcome(name, id, t0, e); throw e; }
          if (debug) outcome(name, id, t0);
        })();
      };
    }
  }
  return out as Impl<CellDef>;
}
