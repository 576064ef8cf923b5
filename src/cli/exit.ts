// What the CLI does when a command is done, before the process exits (runCli, src/cli/main.ts).
// A command may keep something running past its last use on purpose — the short-lived mesh node
// of `cell call <name>` stays up briefly so that the describe() and the call share it — and
// registers here how to end it now: runCli runs these, then exits.
const hooks = new Set<() => Promise<void>>();

/** Run `fn` when the command is done (once). Returns the function that unregisters it. */
export function atCommandEnd(fn: () => Promise<void>): () => void {
  hooks.add(fn);
  return () => { hooks.delete(fn); };
}

/** Run (and forget) every registered hook, in parallel; resolves after `timeoutMs` at the latest. */
export async function commandEnded(timeoutMs = 2000): Promise<void> {
  const fns = [...hooks];
  hooks.clear();
  if (fns.length === 0) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled(fns.map((fn) => fn())),
    new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); }),
  ]);
  clearTimeout(timer);
}
