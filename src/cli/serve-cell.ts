// `cell run --foreground`: serve a cell directory until SIGTERM/SIGINT (docs/cli.md "cell run").
// Order matters: refuse a live instance, load the module, write the pid file, listen (so a socket
// without a pid file is always stale), then log "start". On a signal: stop accepting, GOODBYE to
// every client, wait for calls in flight (at most graceMs), remove the run files, log "stop".
import { mkdirSync } from 'node:fs';
import { listenTcp, listenUnix, type LinkListener } from '../transports/index.ts';
import { serve, type CellDef, type Connection, type Impl, type Server } from '../rpc/index.ts';
import { CliError } from './errors.ts';
import type { CellDir } from './cell-dir.ts';
import { Logger, type Level } from './log.ts';
import { importCellModule } from './loader.ts';
import { Ops } from './ops.ts';
import { inspectRun, removeRunFiles, socketAnswers, writeRunInfo } from './run-state.ts';

export interface ForegroundOptions {
  /** Also listen on TCP "host:port". @default cell.toml [run].tcp, else none */
  tcp?: string;
  /** @default cell.toml [run].log_level, else 'info' */
  logLevel?: Level;
  /** Also print log lines to stderr. @default false */
  echo?: boolean;
  /** How long calls in flight may finish after a stop signal. @default 5000 */
  graceMs?: number;
  /** Called once listening (tests, and the detached parent's output). */
  onReady?: (info: { socket: string; tcp?: string }) => void;
}

interface Totals { conns: number; calls: number; errors: number; events: number }

/** Serve until a stop signal. Resolves with the exit code. */
export async function runForeground(cd: CellDir, opts: ForegroundOptions = {}): Promise<number> {
  const paths = cd.paths;
  mkdirSync(paths.runDir, { recursive: true });
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
  const startedAt = Date.now();
  writeRunInfo(paths, {
    pid: process.pid, name: cd.name, version: def.version, socket: paths.socket,
    ...(tcp !== undefined ? { tcp } : {}), startedAt: new Date(startedAt).toISOString(), node: process.version,
  });

  const totals: Totals = { conns: 0, calls: 0, errors: 0, events: 0 };
  const servers: { server: Server; listener: LinkListener; via: string }[] = [];
  const impl = instrument(def, mod.impl, log);
  let ops: Server | null = null;
  let opsListener: LinkListener | null = null;
  try {
    const ul = await listenUnix(paths.socket);
    servers.push({ server: track(serve(def, impl, ul), ul, 'unix', log, totals), listener: ul, via: 'unix' });
    if (tcp !== undefined) {
      const i = tcp.lastIndexOf(':');
      const tl = await listenTcp(Number(tcp.slice(i + 1)), tcp.slice(0, i) || '127.0.0.1');
      servers.push({ server: track(serve(def, impl, tl), tl, 'tcp', log, totals), listener: tl, via: 'tcp' });
    }
    opsListener = await listenUnix(paths.opsSocket);
    ops = serve(Ops, {
      counters: () => {
        let open = 0, calls = totals.calls, errors = totals.errors, events = totals.events;
        for (const { server } of servers) {
          for (const c of server.connections) { open++; calls += c.stats.callsIn; errors += c.stats.errorsOut; events += c.stats.eventsOut; }
        }
        return { pid: process.pid, name: cd.name, version: def.version, uptimeMs: Date.now() - startedAt, connections: open, connectionsTotal: totals.conns, callsIn: calls, errorsOut: errors, eventsOut: events };
      },
    }, opsListener, { heartbeatMs: 0 });
  } catch (e) {
    for (const s of servers) void s.listener.close();
    void opsListener?.close();
    removeRunFiles(paths);
    const err = e as NodeJS.ErrnoException;
    log.error('listen failed', { error: err });
    log.close();
    throw new CliError(`cannot listen: ${err.message}`, { name: 'ListenFailed', fix: err.code === 'EADDRINUSE' ? 'pick another --tcp port, or stop what uses it' : 'check the path and permissions of .cell/run/' });
  }

  let stopHook: void | (() => void | Promise<void>);
  try {
    stopHook = mod.start?.({ emit: (ev: never, v: never) => servers.reduce((n, s) => n + s.server.emit(ev, v), 0) } as Pick<Server, 'emit'>);
  } catch (e) {
    log.error('start() of the cell failed', { error: e });
  }
  log.info('start', {
    version: def.version, socket: paths.socket, ...(tcp !== undefined ? { tcp } : {}), entry: cd.entry, node: process.version,
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
      const goodbyes = servers.flatMap((s) => [...s.server.connections].map((c) => c.goodbye()));
      const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.graceMs ?? 5000).unref());
      if ((await Promise.race([Promise.all(goodbyes), grace])) === 'timeout') log.warn('calls still in flight after the grace period: closing', { graceMs: opts.graceMs ?? 5000 });
      await Promise.all(servers.map((s) => s.server.close()));
      await Promise.race([Promise.all(listening), grace]);
      await ops?.close();
      await opsListener?.close();
      removeRunFiles(paths);
      let calls = totals.calls;
      for (const { server } of servers) for (const c of server.connections) calls += c.stats.callsIn;
      log.info('stop', { reason, uptimeMs: Date.now() - startedAt, calls, connections: totals.conns });
      log.close();
      resolveExit(code);
    };
    process.once('SIGTERM', () => void stop('SIGTERM', 0));
    process.once('SIGINT', () => void stop('SIGINT', 0));
    process.on('uncaughtException', (e) => { log.error('uncaught exception', { error: e, stack: e.stack }); void stop('uncaught exception', 1); });
    process.on('unhandledRejection', (e) => { log.error('unhandled rejection', { error: e }); void stop('unhandled rejection', 1); });
  });
}

/** Log each connection (info) and keep the counters of the ones that closed. */
function track(server: Server, listener: LinkListener, via: string, log: Logger, totals: Totals): Server {
  const accept = listener.onLink!;
  listener.onLink = (link) => {
    accept(link);
    let conn: Connection | undefined;
    for (const c of server.connections) conn = c; // serve() just added it: the newest
    if (conn === undefined) return;
    const id = ++totals.conns;
    log.info('connect', { conn: id, via });
    const c = conn;
    c.ready.then((h) => log.debug('hello', { conn: id, peer: h.cellName || '(anonymous)' }), () => {});
    c.onClose((err) => {
      totals.calls += c.stats.callsIn; totals.errors += c.stats.errorsOut; totals.events += c.stats.eventsOut;
      const fields = { conn: id, calls: c.stats.callsIn, errors: c.stats.errorsOut };
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
