/**
 * Docker's multiplexed stream (attach and logs of a container without a TTY): frames of an
 * 8-byte header — stream type (0 stdin, 1 stdout, 2 stderr), three zero bytes, payload size
 * as a big-endian uint32 — then the payload. Frames may be split across chunks and chunks
 * may hold several frames. The demuxer hands payloads on in arrival order, stdout and
 * stderr alike, since a step's log is one stream.
 */
export function createDemuxer(onPayload: (payload: Uint8Array, stream: number) => void): {
  push(chunk: Uint8Array): void;
  /** Bytes of an unfinished frame still held (0 once the stream ended cleanly). */
  pending(): number;
} {
  let buffer: Uint8Array = new Uint8Array(0);
  return {
    push(chunk) {
      buffer = buffer.length === 0 ? chunk : concat(buffer, chunk);
      let offset = 0;
      while (buffer.length - offset >= 8) {
        const size =
          ((buffer[offset + 4] << 24) >>> 0) + (buffer[offset + 5] << 16) + (buffer[offset + 6] << 8) + buffer[offset + 7];
        if (buffer.length - offset - 8 < size) break;
        if (size > 0) onPayload(buffer.subarray(offset + 8, offset + 8 + size), buffer[offset]);
        offset += 8 + size;
      }
      // keep only the unfinished tail; copy so the caller's chunk is not retained whole
      buffer = offset === buffer.length ? new Uint8Array(0) : buffer.slice(offset);
    },
    pending: () => buffer.length,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a, 0);
  joined.set(b, a.length);
  return joined;
}
