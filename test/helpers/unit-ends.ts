/**
 * Where a file's container units end, read from the bytes with nothing but the container specs
 * (not our muxers): whether the file ends exactly where a unit ends, which ffmpeg does not always
 * say (its Ogg demuxer drops a cut last page without a word).
 */

/** Ogg (RFC 3533): pages follow each other from offset 0 to the last byte, the last one whole. */
export function oggPagesTile(data: Buffer): boolean {
  let offset = 0;
  while (offset < data.length) {
    if (offset + 27 > data.length || data.toString('latin1', offset, offset + 4) !== 'OggS') return false;
    const segments = data[offset + 26]!;
    if (offset + 27 + segments > data.length) return false;
    let body = 0;
    for (let i = 0; i < segments; i++) body += data[offset + 27 + i]!;
    offset += 27 + segments + body;
  }
  return offset === data.length;
}

/** ISO BMFF: top-level boxes (32- or 64-bit sizes) follow each other to the last byte, the last one whole. */
export function mp4BoxesTile(data: Buffer): boolean {
  let offset = 0;
  while (offset < data.length) {
    if (offset + 8 > data.length) return false;
    let size = data.readUInt32BE(offset);
    if (size === 1) {
      if (offset + 16 > data.length) return false;
      size = Number(data.readBigUInt64BE(offset + 8));
    }
    if (size < 8) return false;
    offset += size;
  }
  return offset === data.length;
}
