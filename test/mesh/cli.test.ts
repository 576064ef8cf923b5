// The mesh from the command line, in process: `cell call <name>` finds the cell through the mesh
// (a bare name that is no directory, socket or host:port), `cell status --mesh` lists peers and
// their cells, `cell mesh find`. Loopback only: CELL_MESH_NO_MDNS=1 and CELL_MESH_BOOTSTRAP.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.ts';
import { Thermo } from '../rpc/fixtures/thermo.ts';
import { thermoImpl } from '../rpc/fixtures/impl.ts';
import { meshNode } from './helpers.ts';

const cli = suite('cli: the mesh');

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [], err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

cli('cell call <name>, cell status --mesh, cell mesh find — through a provider found by bootstrap', async () => {
  const provider = await meshNode();
  const env = { ...process.env };
  try {
    await provider.provide(Thermo, thermoImpl());
    process.env.CELL_MESH_BOOTSTRAP = provider.addrs()[0];
    process.env.CELL_MESH_NO_MDNS = '1';
    process.env.CELL_MESH_LISTEN = '/ip4/127.0.0.1/tcp/0';
    const r = await run(['call', 'thermo', 'read', '{"channel": 4}', '--json']);
    assert.is(r.code, 0, r.err.join('\n') + r.out.join('\n'));
    assert.equal(JSON.parse(r.out[0]!), { channel: 4, temp: 22, seq: 1 });
    const e = await run(['call', 'thermo', 'read', '{"channel": 9}', '--json']);
    assert.is(e.code, 1);
    assert.is(JSON.parse(e.out[0]!).error.code, 1001);
    const s = await run(['status', '--mesh', '--wait', '300', '--json']);
    assert.is(s.code, 0, s.err.join('\n'));
    const st = JSON.parse(s.out[0]!);
    assert.equal(st.peers.find((p: { peerId: string }) => p.peerId === provider.peerId).cells, ['thermo']);
    const f = await run(['mesh', 'find', 'thermo', '--json', '--wait', '3000']);
    assert.is(f.code, 0, f.err.join('\n'));
    assert.is(JSON.parse(f.out[0]!)[0].peerId, provider.peerId);
    process.env.CELL_MESH_TIMEOUT_MS = '800';
    const n = await run(['call', 'nosuchcell', 'read', '--json']);
    assert.is(n.code, 1);
    assert.is(JSON.parse(n.out[0]!).error.code, 401);
  } finally {
    for (const k of ['CELL_MESH_BOOTSTRAP', 'CELL_MESH_NO_MDNS', 'CELL_MESH_LISTEN', 'CELL_MESH_TIMEOUT_MS']) { if (env[k] === undefined) delete process.env[k]; else process.env[k] = env[k]; }
    await provider.stop();
  }
});

cli.run();
