import { PlumblineError } from '@plumbline/core';
import { sealArtifact, type SealArtifactOptions } from '@plumbline/core/container';

/** Seals into memory and returns the container bytes and the seal result. */
export async function sealToBytes(options: SealArtifactOptions) {
  const chunks: Uint8Array[] = [];
  const result = await sealArtifact(
    options,
    new WritableStream<Uint8Array>({
      write(chunk) {
        chunks.push(chunk.slice());
      },
    }),
  );
  return { bytes: new Uint8Array(Buffer.concat(chunks)), result };
}

/** The code of the PlumblineError a promise rejects with ('none' when it resolves). */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (PlumblineError.is(error)) return error.code;
    throw error;
  }
  return 'none';
}

/** The PlumblineError a promise rejects with. */
export async function rejection(promise: Promise<unknown>): Promise<PlumblineError> {
  try {
    await promise;
  } catch (error) {
    if (PlumblineError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

/** A Web stream that delivers bytes in chunks of `size`. */
export function chunkedStream(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

/** Reads a Web stream to the end. */
export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}
