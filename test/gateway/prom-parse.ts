// A small strict parser of the Prometheus text exposition format 0.0.4, for the metrics tests:
// every line is a HELP, a TYPE or a sample of the family just announced; label values and HELP
// text use only the escapes the format allows; histograms have cumulative buckets ending in
// le="+Inf" equal to their _count, and a _sum; counters are named *_total.
export interface ParsedSample { name: string; labels: Record<string, string>; value: number }
export interface ParsedFamily { name: string; type: string; help: string; samples: ParsedSample[] }

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const VALUE_RE = /^(NaN|[+-]Inf|[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/;

function unescape(s: string, quotes: boolean, where: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      if (quotes && c === '"') throw new Error(`${where}: unescaped " in a label value`);
      if (c === '\n') throw new Error(`${where}: raw line feed`);
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === '\\') out += '\\';
    else if (n === 'n') out += '\n';
    else if (n === '"' && quotes) out += '"';
    else throw new Error(`${where}: bad escape \\${n ?? ''}`);
  }
  return out;
}

function parseLabels(s: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < s.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(s.slice(i));
    if (m === null) throw new Error(`${where}: bad label at "${s.slice(i)}"`);
    i += m[0].length;
    let raw = '';
    for (;;) {
      if (i >= s.length) throw new Error(`${where}: unterminated label value`);
      const c = s[i]!;
      if (c === '\\') { raw += c + (s[i + 1] ?? ''); i += 2; continue; }
      if (c === '"') { i++; break; }
      raw += c; i++;
    }
    if (m[1]! in labels) throw new Error(`${where}: label ${m[1]} twice`);
    labels[m[1]!] = unescape(raw, true, where);
    if (i < s.length) {
      if (s[i] !== ',') throw new Error(`${where}: expected , between labels`);
      i++;
    }
  }
  return labels;
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('the text must end with a line feed');
  const fams = new Map<string, ParsedFamily>();
  let cur: ParsedFamily | null = null;
  let typed = false;
  text.slice(0, -1).split('\n').forEach((line, n) => {
    const where = `line ${n + 1} "${line}"`;
    let m = new RegExp(`^# HELP (${NAME}) (.*)$`).exec(line);
    if (m !== null) {
      if (fams.has(m[1]!)) throw new Error(`${where}: family ${m[1]} again`);
      cur = { name: m[1]!, type: '', help: unescape(m[2]!, false, where), samples: [] };
      fams.set(cur.name, cur);
      typed = false;
      return;
    }
    m = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`).exec(line);
    if (m !== null) {
      if (cur === null || (cur as ParsedFamily).name !== m[1] || typed) throw new Error(`${where}: TYPE must follow its HELP`);
      (cur as ParsedFamily).type = m[2]!;
      if (m[2] === 'counter' && !m[1]!.endsWith('_total')) throw new Error(`${where}: a counter's name ends in _total`);
      typed = true;
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: unexpected comment`);
    m = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (m === null) throw new Error(`${where}: not a sample`);
    const f = cur as ParsedFamily | null;
    if (f === null || !typed) throw new Error(`${where}: sample before HELP/TYPE`);
    const ok = f.type === 'histogram' ? [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`] : [f.name];
    if (!ok.includes(m[1]!)) throw new Error(`${where}: sample ${m[1]} outside its family ${f.name}`);
    if (!VALUE_RE.test(m[3]!)) throw new Error(`${where}: bad value`);
    const labels = m[2] !== undefined ? parseLabels(m[2], where) : {};
    if (m[1]!.endsWith('_bucket') && f.type === 'histogram' && labels.le === undefined) throw new Error(`${where}: bucket without le`);
    f.samples.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]) });
  });
  for (const f of fams.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map<string, ParsedSample[]>();
    const keyOf = (l: Record<string, string>): string => JSON.stringify(Object.entries(l).filter(([k]) => k !== 'le').sort());
    for (const s of f.samples) (series.get(keyOf(s.labels)) ?? series.set(keyOf(s.labels), []).get(keyOf(s.labels))!).push(s);
    for (const [k, ss] of series) {
      const buckets = ss.filter((s) => s.name.endsWith('_bucket')).map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), v: s.value }));
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]!.le > buckets[i - 1]!.le)) throw new Error(`${f.name} ${k}: le not increasing`);
        if (buckets[i]!.v < buckets[i - 1]!.v) throw new Error(`${f.name} ${k}: buckets not cumulative`);
      }
      const count = ss.find((s) => s.name.endsWith('_count'));
      if (buckets.at(-1)?.le !== Infinity || count === undefined || buckets.at(-1)!.v !== count.value) throw new Error(`${f.name} ${k}: +Inf bucket missing or not equal to _count`);
      if (!ss.some((s) => s.name.endsWith('_sum'))) throw new Error(`${f.name} ${k}: no _sum`);
    }
  }
  return fams;
}

/** The value of the one sample of `name` whose labels include `labels` (throws when not exactly one). */
export function sampleValue(fams: Map<string, ParsedFamily>, name: string, labels: Record<string, string> = {}): number {
  const all = [...fams.values()].flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (all.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${all.length} samples`);
  return all[0]!.value;
}
