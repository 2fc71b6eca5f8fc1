// A tar writer for the diagnostics bundle: POSIX ustar headers (what every
// tar reads), with a pax extended header ('x') in front of an entry whose path
// does not fit ustar's 100 + 155 bytes (a pod name can be 253 characters).
// Only regular files, owned by uid/gid 0, mode 0644: the archive describes a
// cluster, not the machine that made it.

const BLOCK = 512;

/**
 * The blocks around one file entry's data: its header(s) before it, and the padding to a block after it (the
 * data itself is written between them as it is, in as many pieces as it comes in).
 */
export function tarEntry(path: string, size: number, mtime: Date): { header: Buffer; padding: Buffer } {
  const split = splitPath(path);
  const seconds = Math.floor(mtime.getTime() / 1000);
  const parts: Buffer[] = [];
  if (!split) {
    const record = paxRecord('path', path);
    parts.push(header({ name: 'PaxHeader/entry', size: record.length, mtime: seconds, type: 'x', prefix: '' }), pad(record));
  }
  const { name, prefix } = split ?? { name: path.slice(-100).replace(/^\/+/, ''), prefix: '' };
  parts.push(header({ name, prefix, size, mtime: seconds, type: '0' }));
  return { header: Buffer.concat(parts), padding: Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK) };
}

/** The end of an archive: two zero blocks. */
export function tarEnd(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

/** ustar's name (100 bytes) and prefix (155), split at a slash; undefined when the path cannot be split so. */
function splitPath(path: string): { name: string; prefix: string } | undefined {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let at = path.indexOf('/'); at >= 0; at = path.indexOf('/', at + 1)) {
    const prefix = path.slice(0, at);
    const name = path.slice(at + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { name, prefix };
  }
  return undefined;
}

/** `LEN key=value\n`, where LEN counts the whole record, its own digits included. */
function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length = String(length).length + Buffer.byteLength(body);
  return Buffer.from(`${length}${body}`);
}

function header(h: { name: string; prefix: string; size: number; mtime: number; type: '0' | 'x' }): Buffer {
  const block = Buffer.alloc(BLOCK);
  const text = (value: string, offset: number, length: number) => block.write(value, offset, length, 'utf8');
  const octal = (value: number, offset: number, length: number) => text(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length);
  text(h.name, 0, 100);
  octal(0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(h.size, 124, 12);
  octal(h.mtime, 136, 12);
  text(' '.repeat(8), 148, 8); // the checksum is summed with its own field as spaces
  text(h.type, 156, 1);
  text('ustar\0', 257, 6);
  text('00', 263, 2);
  text('root', 265, 32);
  text('root', 297, 32);
  text(h.prefix, 345, 155);
  let sum = 0;
  for (const byte of block) sum += byte;
  text(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return block;
}

function pad(data: Buffer): Buffer {
  const rest = data.length % BLOCK;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(BLOCK - rest)]);
}
