// serialport, loaded once on first use: an optional dependency, needed only by the links that
// open a serial port (src/transports/uart.ts, src/transports/can/slcan.ts). Without it the
// caller gets LinkIo (500) naming what needed it and the install command.
import type { SerialPort as SerialPortClass } from 'serialport';
import { CellError } from '../wire/cell-error.ts';
import { ERR_LINK_IO } from '../wire/errors.ts';

export type SerialPortCtor = typeof SerialPortClass;
let serialPortModule: Promise<SerialPortCtor> | null = null;

/** The SerialPort class; `needs`: who asks, for the error (e.g. "UART links", "slcan"). */
export function loadSerialPort(needs: string): Promise<SerialPortCtor> {
  serialPortModule ??= import('serialport').then(
    (m) => m.SerialPort,
    (e: Error) => {
      serialPortModule = null;
      throw new CellError(ERR_LINK_IO, `${needs} need${needs.endsWith('s') ? '' : 's'} the optional dependency "serialport" (npm i serialport): ${e.message}`);
    },
  );
  return serialPortModule;
}
