// Link key files for the commands that talk to a secured device (`cell call --port --key`,
// `cell flash --key`; docs/security.md §4): read into a KeyRing, a bad file reported with its fix.
import { CliError } from './errors.ts';
import type { KeyRing } from '../transports/secure-keys.ts';

/** Link key files (fleet or device keys) as a KeyRing; a bad file is a CliError with the fix. */
export async function loadKeys(files: readonly string[]): Promise<KeyRing> {
  const { KeyRing } = await import('../transports/secure-keys.ts');
  try {
    return KeyRing.fromFiles(files);
  } catch (e) {
    throw new CliError((e as Error).message, { code: (e as { code?: number }).code ?? 807, exit: 2, fix: 'create one with `cell keys fleet` / `cell keys device`, and keep it mode 0600' });
  }
}
