// UART link (serialport, COBS + CRC-32C): the compliance suite over a real socat pty pair, a
// UartLink opened on each end. "Peer death" on a serial line is the cable going: killB stops
// socat, both ports see the device vanish. Skips (with the reason) without socat or serialport.
import { suite } from 'uvu';
import { startPtyPair, ptyUnavailable } from '../../hw-tests/lib/pty.ts';
import { openUart, type UartLink } from '../../src/transports/uart.ts';
import { complianceSuite, type LinkPair } from './compliance.ts';

async function closed(links: UartLink[]): Promise<void> {
  for (const l of links) l.close();
  const t0 = Date.now();
  while (links.some((l) => !l.io.dead) && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 2));
}

async function uartPair(): Promise<LinkPair> {
  const pty = await startPtyPair();
  const [a, b] = await Promise.all([16384, 16384].map((mtu, i) => openUart({ path: i === 0 ? pty.pathA : pty.pathB, maxFrameBytes: mtu })));
  return {
    a: a!, b: b!,
    killB: () => pty.kill(),
    garbageToA: (bytes) => b!.writeRaw(bytes),
    cleanup: async () => { await closed([a!, b!]); await pty.close(); },
  };
}

const missing = ptyUnavailable() ?? (await import('serialport').then(() => null, (e: Error) => `serialport not installed: ${e.message}`));
if (missing === null) complianceSuite('uart (serialport over a socat pty pair)', { pair: uartPair });
else {
  console.log(`\n  uart compliance: SKIPPED — ${missing}\n`);
  const s = suite('Link compliance: uart');
  s.skip('compliance over a pty pair', () => {});
  s.run();
}
