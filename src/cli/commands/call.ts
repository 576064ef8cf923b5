// cell call <target> [method] [json] [--deadline ms] [--count N] [--json]
// cell call --port /dev/ttyX [--baud N] [--schema FILE] [method] [json] ...   (a device on a serial port)
// cell call --can can0:<node> [--can-node N] [--schema FILE] [method] [json] ... (a device node on a CAN bus)
import type { CellDescription, SchemaJson } from '../../codec/schema-json.ts';
import { connect, type CellDef, type Client } from '../../rpc/index.ts';
import { closest, type CommandSpec, type Parsed } from '../args.ts';
import { CliError, EXIT_USAGE } from '../errors.ts';
import { ERR_RPC_UNKNOWN_METHOD } from '../../wire/errors.ts';
import { bool, num, str, stringify, type Ctx } from '../io.ts';
import { fromJson, parseJsonArg, toJson, ValueError } from '../json-value.ts';
import { defFromDescription, fetchDescription } from '../remote.ts';
import { linkReleased, openLink, resolveTarget, uartTarget, type Target } from '../target.ts';

export const spec: CommandSpec = {
  name: 'call',
  summary: 'Call a running cell: JSON argument in, JSON answer out.',
  details: [
    'Fetches the cell\'s schema over the control channel, checks the JSON argument against the request',
    'schema (a mistake is reported with the field path), calls, and prints the answer as JSON.',
    'A stream prints one JSON line per item; an event name listens and prints one line per event.',
    'Without a method, prints what the cell offers. Typed errors (the cell\'s own, by name, and the',
    'SDK\'s) are printed with their code and hint; the exit code is then 1. A bad argument exits 2.',
    'Values: u64/i64 as numbers or decimal strings, bytes as hex strings, enums by member name,',
    'an absent optional as null (see docs/cli.md "Values as JSON").',
    'With --port the target is a device on a serial port (COBS + CRC frames, docs/uart.md) and the',
    'positionals are [method] [json]. A device that does not serve describe is described by --schema',
    'FILE (default .cell/schemas/<cell>.json), checked entry by entry against the device\'s HELLO keys.',
    'With --can <interface>:<node> the target is a device node on a CAN bus: SocketCAN for an interface',
    'name (can0, vcan0; needs the addon: npm run build:native), an slcan USB adapter for slcan:<path>',
    '(--can-bitrate, default 500000). This command is node --can-node (default 1) on the bus.',
  ].join('\n'),
  args: [
    { name: 'target', desc: 'cell directory, socket path (unix:/p, *.sock) or host:port (omit with --port)', optional: true },
    { name: 'method', desc: 'method, stream or event name (omit to list them)', optional: true },
    { name: 'json', desc: 'the request as JSON (default {})', optional: true },
  ],
  flags: {
    deadline: { type: 'number', arg: 'ms', desc: 'fail with Timeout after this long (default: the method\'s, else 5000; streams and events: none)' },
    count: { type: 'number', arg: 'N', desc: 'streams and events: stop after N items' },
    json: { type: 'boolean', desc: 'compact JSON on one line; errors as {"error": {...}} on stdout' },
    port: { type: 'string', arg: 'tty', desc: 'call a device on this serial port (/dev/ttyUSB0, a pty) instead of a target' },
    baud: { type: 'number', arg: 'N', desc: 'with --port: the line rate (default 115200)' },
    schema: { type: 'string', arg: 'FILE', desc: 'with --port: the description of a device that does not serve describe' },
    key: { type: 'string', arg: 'FILE', multiple: true, desc: 'with --port: a device or fleet key file: every frame sealed, plaintext refused (docs/security.md)' },
    can: { type: 'string', arg: 'iface:node', desc: 'call the device node on a CAN bus: can0:10 (SocketCAN) or slcan:/dev/ttyACM0:10 (USB adapter)' },
    'can-node': { type: 'number', arg: 'id', desc: 'with --can: this command\'s own node id on the bus (default 1; the gateway\'s default is 0)' },
    'can-fd': { type: 'boolean', desc: 'with --can: send CAN FD frames' },
    'can-bitrate': { type: 'number', arg: 'bit/s', desc: 'with --can slcan:...: the CAN bitrate (default 500000)' },
    'no-shm': { type: 'boolean', desc: 'a local cell: stay on the Unix socket instead of moving to shared memory (also CELL_NO_SHM=1)' },
  },
  examples: [
    `cell call examples/thermo read '{"channel": 1}'`,
    `cell call examples/thermo samples '{"channel": 0, "count": 5, "intervalMs": 10}'`,
    'cell call examples/thermo alarm --count 1',
    'cell call 127.0.0.1:7070',
    `cell call --port /dev/ttyUSB0 --schema firmware/thermo/gen/schema.json read '{"channel": 0}'`,
    `cell call --can can0:10 --schema firmware/thermo/gen/schema.json read '{"channel": 0}'`,
  ],
};

type Entry =
  | { kind: 'method'; m: CellDescription['methods'][number] }
  | { kind: 'stream'; m: CellDescription['streams'][number] }
  | { kind: 'event'; m: CellDescription['events'][number] };

function findEntry(d: CellDescription, name: string): Entry | undefined {
  const m = d.methods.find((x) => x.name === name);
  if (m !== undefined) return { kind: 'method', m };
  const s = d.streams.find((x) => x.name === name);
  if (s !== undefined) return { kind: 'stream', m: s };
  const e = d.events.find((x) => x.name === name);
  return e !== undefined ? { kind: 'event', m: e } : undefined;
}

/** "method read(ReadReq{channel:u8}) -> Reading{...}   errors: sensorFault=1001" lines. */
export function summarize(d: CellDescription): string[] {
  const errs = (es: { name: string; code: number }[]): string => (es.length > 0 ? `   errors: ${es.map((e) => `${e.name}=${e.code}`).join(', ')}` : '');
  return [
    `${d.name} ${d.version} (protocol ${d.protocol})`,
    ...d.methods.map((m) => `  method ${m.name}(${m.request.canonical}) -> ${m.response.canonical}${errs(m.errors)}`),
    ...d.streams.map((s) => `  stream ${s.name}(${s.request.canonical}) -> ${s.item.canonical}*${errs(s.errors)}`),
    ...d.events.map((e) => `  event  ${e.name}: ${e.payload.canonical}`),
  ];
}

export async function run(p: Parsed, ctx: Ctx): Promise<number> {
  const port = str(p, 'port');
  const can = str(p, 'can');
  let target: Target, targetText: string, name: string | undefined, jsonText: string | undefined;
  const canFlags = ['can-node', 'can-fd', 'can-bitrate'].filter((k) => p.flags[k] !== undefined);
  if (can === undefined && canFlags.length > 0) throw new CliError(`--${canFlags[0]} goes with --can`, { exit: EXIT_USAGE, name: 'BadArgument', fix: 'cell call --can can0:10 [method] [json]' });
  if (can !== undefined) {
    if (port !== undefined) throw new CliError('--can and --port are two targets: give one', { exit: EXIT_USAGE, name: 'BadArgument' });
    if (p.positionals.length > 2) throw new CliError(`unexpected argument "${p.positionals[2]}" (with --can: [method] [json])`, { exit: EXIT_USAGE, name: 'BadArgument' });
    if (num(p, 'baud') !== undefined || p.flags.key !== undefined) throw new CliError('--baud and --key go with --port, not --can', { exit: EXIT_USAGE, name: 'BadArgument' });
    [name, jsonText] = p.positionals as [string | undefined, string | undefined];
    const { canTarget } = await import('../can-target.ts');
    const bitrate = num(p, 'can-bitrate');
    const localNode = num(p, 'can-node');
    target = await canTarget(can, { fd: bool(p, 'can-fd'), ...(bitrate !== undefined ? { bitrate } : {}), ...(localNode !== undefined ? { localNode } : {}) });
    targetText = `--can ${can}`;
  } else if (port !== undefined) {
    if (p.positionals.length > 2) throw new CliError(`unexpected argument "${p.positionals[2]}" (with --port: [method] [json])`, { exit: EXIT_USAGE, name: 'BadArgument' });
    [name, jsonText] = p.positionals as [string | undefined, string | undefined];
    target = uartTarget(port, num(p, 'baud'), (p.flags.key as string[] | undefined) ?? []);
    targetText = `--port ${port}`;
  } else {
    if (p.positionals.length === 0) throw new CliError('missing <target> (a cell directory, socket path or host:port; or --port /dev/ttyX, or --can can0:<node>)', { exit: EXIT_USAGE, name: 'BadArgument', fix: 'cell call <target> [method] [json]' });
    if (num(p, 'baud') !== undefined || str(p, 'schema') !== undefined || p.flags.key !== undefined) throw new CliError('--baud, --schema and --key go with --port', { exit: EXIT_USAGE, name: 'BadArgument' });
    [targetText, name, jsonText] = p.positionals as [string, string | undefined, string | undefined];
    target = resolveTarget(targetText);
  }
  const deadlineMs = num(p, 'deadline');
  const count = num(p, 'count');
  const schemaFile = str(p, 'schema');
  const desc = await fetchDescription(target, { timeoutMs: deadlineMs ?? 5000, ...(schemaFile !== undefined ? { schemaFile } : {}) });

  if (name === undefined) {
    if (ctx.json) ctx.out(stringify(desc));
    else for (const l of summarize(desc)) ctx.out(l);
    return 0;
  }
  const entry = findEntry(desc, name);
  if (entry === undefined) {
    const all = [...desc.methods, ...desc.streams, ...desc.events].map((x) => x.name);
    const near = closest(name, all);
    throw new CliError(`${desc.name} has no method, stream or event "${name}"${near !== undefined ? ` (did you mean "${near}"?)` : ''}`, {
      code: ERR_RPC_UNKNOWN_METHOD, fix: `pick one of: ${all.join(', ') || '(none)'} — \`cell call ${targetText}\` lists them with their schemas`,
    });
  }

  const reqSchema: SchemaJson | undefined = entry.kind === 'event' ? undefined : entry.m.request.schema;
  const reqText = entry.kind === 'event' ? '' : entry.m.request.canonical;
  let req: unknown;
  if (reqSchema !== undefined) {
    try {
      req = fromJson(reqSchema, parseJsonArg(jsonText ?? '{}'), typeof reqSchema === 'object' && reqSchema.kind === 'struct' ? reqSchema.name : 'request');
    } catch (e) {
      if (!(e instanceof ValueError)) throw e;
      throw new CliError(e.message, {
        exit: EXIT_USAGE, name: 'BadArgument', detail: { field: e.path, expected: reqText },
        fix: `pass a JSON object matching ${reqText}`,
      });
    }
  } else if (jsonText !== undefined) {
    throw new CliError(`"${name}" is an event: it takes no argument`, { exit: EXIT_USAGE, name: 'BadArgument', fix: `cell call ${targetText} ${name} --count 1` });
  }

  const def = defFromDescription(desc);
  const link = await openLink(target, bool(p, 'no-shm') ? { shm: false } : {});
  const client = (await connect(def, link, { helloTimeoutMs: deadlineMs ?? 5000 })) as Client<CellDef> & Record<string, (r: unknown, o?: unknown) => unknown>;
  const ac = new AbortController();
  const onSig = (): void => ac.abort();
  process.once('SIGINT', onSig);
  const print = (v: unknown, lines: boolean): void => ctx.out(lines || ctx.json ? stringify(v) : stringify(v, 2));
  try {
    if (entry.kind === 'method') {
      const res = await (client[name] as (r: unknown, o: unknown) => Promise<unknown>)(req, deadlineMs !== undefined ? { deadlineMs } : {});
      print(toJson(entry.m.response.schema, res), false);
    } else if (entry.kind === 'stream') {
      let n = 0;
      if (count === 0) return 0;
      const it = (client[name] as (r: unknown, o: unknown) => AsyncIterable<unknown>)(req, { signal: ac.signal, ...(deadlineMs !== undefined ? { deadlineMs } : {}) });
      for await (const item of it) {
        print(toJson(entry.m.item.schema, item), true);
        if (count !== undefined && ++n >= count) break;
      }
    } else {
      if (!ctx.json) ctx.err(`listening for ${name} events of ${desc.name}${count !== undefined ? ` (until ${count})` : ''}; Ctrl-C to stop`);
      await listen(client, entry.m, count, deadlineMs, ac.signal, (v) => print(v, true));
    }
    return 0;
  } catch (e) {
    throw withJsonPayload(e, entry);
  } finally {
    process.off('SIGINT', onSig);
    await client.close();
    await linkReleased(link);
  }
}

/** Print events until `count`, the deadline, Ctrl-C, or the cell closes the connection. */
function listen(client: Client<CellDef>, ev: CellDescription['events'][number], count: number | undefined, deadlineMs: number | undefined, signal: AbortSignal, print: (v: unknown) => void): Promise<void> {
  return new Promise((resolve) => {
    let n = 0;
    if (count === 0) { resolve(); return; }
    const done = (): void => { off(); if (timer !== undefined) clearTimeout(timer); resolve(); };
    const off = client.on(ev.name as never, ((v: unknown) => {
      print(toJson(ev.payload.schema, v));
      if (count !== undefined && ++n >= count) done();
    }) as never);
    const timer = deadlineMs !== undefined ? setTimeout(done, deadlineMs) : undefined;
    signal.addEventListener('abort', done, { once: true });
    void client.connection.closed.then(done);
  });
}

/** An app error's payload as plain JSON (bigint, typed arrays, bytes converted by its schema). */
function withJsonPayload(e: unknown, entry: Entry): unknown {
  const ce = e as { code?: unknown; payload?: unknown };
  if (entry.kind === 'event' || typeof ce?.code !== 'number' || ce.code < 1000 || ce.payload === undefined) return e;
  const decl = entry.m.errors.find((x) => x.code === ce.code);
  if (decl?.payload !== undefined) {
    try { ce.payload = toJson(decl.payload, ce.payload); } catch { /* keep it raw */ }
  }
  return e;
}
