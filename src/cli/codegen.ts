// `cell gen`: a typed client module from a cached schema (docs/cli.md "cell gen").
// The module re-declares every message with the schema DSL, so the consumer's `tsc` checks each
// call against the cell's real types, offline. At import it checks that the keys it computes are
// the ones cached (a stale or hand-edited file fails loudly instead of sending garbage).
import { canonicalJson } from './canonical-json.ts';
import type { CellDescription, SchemaJson } from '../codec/schema-json.ts';

export interface ImportSpecifiers {
  /** e.g. 'cell/rpc' */
  readonly rpc: string;
  readonly codec: string;
  readonly transports: string;
}

const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do', 'else', 'enum', 'export', 'extends',
  'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this',
  'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield', 'let', 'static', 'implements', 'interface', 'package',
  'private', 'protected', 'public', 'await', 'arguments', 'eval', 'undefined', 'NaN', 'Infinity', 'Object', 'Array', 'String',
  'Number', 'Boolean', 'Promise', 'Error', 'Symbol', 'Map', 'Set',
  // names this module imports or declares
  'struct', 'enumOf', 'optional', 'array', 'list', 'string', 'bytes', 'bool', 'u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64',
  'f32', 'f64', 'hex64', 'defineCell', 'method', 'stream', 'appError', 'connect', 'Infer', 'Client', 'ConnectionOptions', 'Link', 'KEYS',
]);

/** "my-cell" → "MyCell" */
export function pascalCase(name: string): string {
  const p = name.split(/[-_]+/).filter((s) => s !== '').map((s) => s[0]!.toUpperCase() + s.slice(1)).join('');
  return /^[0-9]/.test(p) ? `Cell${p}` : p;
}

class Emitter {
  readonly decls: string[] = [];
  readonly used = new Set<string>();
  private readonly ids = new Map<string, string>(); // JSON of a named type → identifier
  private readonly taken = new Set<string>(RESERVED);

  reserve(id: string): string {
    let n = id;
    for (let i = 2; this.taken.has(n); i++) n = `${id}_${i}`;
    this.taken.add(n);
    return n;
  }

  /** Expression for a type; named types (struct, enum) are declared first, once. */
  expr(t: SchemaJson): string {
    if (typeof t === 'string') { this.used.add(t); return t; }
    switch (t.kind) {
      case 'string': case 'bytes': this.used.add(t.kind); return `${t.kind}(${t.maxBytes})`;
      case 'array': this.used.add('array'); return `array(${this.expr(t.element)}, ${t.length})`;
      case 'list': this.used.add('list'); return `list(${this.expr(t.element)}, ${t.maxLength})`;
      case 'optional': this.used.add('optional'); return `optional(${this.expr(t.inner)})`;
      case 'enum': {
        const k = canonicalJson(t);
        let id = this.ids.get(k);
        if (id === undefined) {
          id = this.reserve(t.name);
          this.ids.set(k, id);
          this.used.add('enumOf');
          const members = Object.entries(t.values).sort((a, b) => a[1] - b[1]).map(([m, v]) => `${m}: ${v}`).join(', ');
          this.decls.push(`export const ${id} = enumOf(${JSON.stringify(t.name)}, { ${members} });`);
        }
        return id;
      }
      case 'struct': {
        const k = canonicalJson(t);
        let id = this.ids.get(k);
        if (id === undefined) {
          const fields = t.fields.map((f) => `${f.name}: ${this.expr(f.type)}`); // nested types first
          id = this.reserve(t.name);
          this.ids.set(k, id);
          this.used.add('struct');
          this.used.add('Infer');
          this.decls.push(`export const ${id} = struct(${JSON.stringify(t.name)}, { ${fields.join(', ')} });\nexport type ${id} = Infer<typeof ${id}>;`);
        }
        return id;
      }
    }
  }
}

/** The TypeScript source of `.cell/types/<name>.ts`. */
export function generateClient(d: CellDescription, imports: ImportSpecifiers, source = `.cell/schemas/${d.name}.json`): string {
  const em = new Emitter();
  const Cell = em.reserve(pascalCase(d.name));
  const connectFn = em.reserve(`connect${Cell}`);
  const clientType = em.reserve(`${Cell}Client`);
  const errs = (es: CellDescription['methods'][number]['errors']): string => {
    if (es.length === 0) return '';
    em.used.add('appError');
    return `, { errors: { ${es.map((e) => `${e.name}: appError(${e.code}${e.payload !== undefined ? `, ${em.expr(e.payload)}` : ''})`).join(', ')} } }`;
  };
  const methods = d.methods.map((m) => { em.used.add('method'); return `    ${m.name}: method(${em.expr(m.request.schema)}, ${em.expr(m.response.schema)}${errs(m.errors)}),`; });
  const streams = d.streams.map((s) => { em.used.add('stream'); return `    ${s.name}: stream(${em.expr(s.request.schema)}, ${em.expr(s.item.schema)}${errs(s.errors)}),`; });
  const events = d.events.map((e) => `    ${e.name}: ${em.expr(e.payload.schema)},`);
  const keys = [...d.methods, ...d.streams, ...d.events].map((x) => `  ${x.name}: '${x.key}',`);

  const codecImports = [...em.used].filter((n) => !['method', 'stream', 'appError', 'Infer'].includes(n)).sort();
  const rpcImports = ['appError', 'method', 'stream'].filter((n) => em.used.has(n));
  const group = (items: string[]): string => (items.length > 0 ? `{ ${items.join(', ')} }` : '');
  const section = (key: string, lines: string[]): string[] => (lines.length > 0 ? [`  ${key}: {`, ...lines, '  },'] : []);
  return [
    `// Generated by \`cell gen\` from ${source} (${d.name} ${d.version}). Do not edit:`,
    '// `cell gen <target>` refreshes it from the running cell, `cell gen --offline` from the cache.',
    `import { connect, defineCell, ${rpcImports.map((n) => `${n}, `).join('')}type Client, type ConnectionOptions } from '${imports.rpc}';`,
    `import ${group([...codecImports, 'hex64', ...(em.used.has('Infer') ? ['type Infer'] : [])])} from '${imports.codec}';`,
    `import type { Link } from '${imports.transports}';`,
    '',
    ...em.decls,
    '',
    `/** The ${d.name} cell as cached: its methods, streams and events with their schemas. */`,
    `export const ${Cell} = defineCell({`,
    `  name: ${JSON.stringify(d.name)},`,
    `  version: ${JSON.stringify(d.version)},`,
    ...section('methods', methods),
    ...section('streams', streams),
    ...section('events', events),
    '});',
    '',
    '/** The keys of the cached schema: the declarations above must produce exactly these. */',
    'const KEYS: Readonly<Record<string, string>> = {',
    ...keys,
    '};',
    `for (const e of ${Cell}.entries) {`,
    '  if (hex64(e.key) !== KEYS[e.name]) {',
    `    throw new TypeError(\`${source}: key of \${e.kind} "\${e.name}" is \${hex64(e.key)}, cached \${KEYS[e.name]}: regenerate with \\\`cell gen\\\`\`);`,
    '  }',
    '}',
    '',
    `export type ${clientType} = Client<typeof ${Cell}>;`,
    '',
    `/** Connect to a ${d.name} cell over \`link\` (e.g. \`await connectUnix('.cell/run/cell.sock')\`): a typed client. */`,
    `export function ${connectFn}(link: Link, opts?: ConnectionOptions): Promise<${clientType}> {`,
    `  return connect(${Cell}, link, opts);`,
    '}',
    '',
  ].join('\n');
}
