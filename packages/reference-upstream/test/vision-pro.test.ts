import { deflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { UpstreamError } from '../src/protocol.ts';
import { type AnalyzeImageResult, visionPro } from '../src/services/vision-pro.ts';
import {
  buildDicom,
  buildPng,
  dicomWithBlobs,
  garbageWithDicmMarker,
  ihdr,
  IMPLICIT_LITTLE_ENDIAN,
  JPEG_BASELINE,
  paint,
  PNG_SIGNATURE,
  pngBomb,
  pngChunk,
  pngWithBlobs,
  randomBytes,
} from './fixtures/images.ts';

const op = visionPro.analyzeImage;

async function analyze(body: Record<string, unknown>, signal = new AbortController().signal) {
  return (await op.run(op.input.parse(body), { signal })) as AnalyzeImageResult;
}

async function refusal(body: Record<string, unknown>): Promise<UpstreamError> {
  const error: unknown = await analyze(body).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}

const b64 = (bytes: Buffer): string => bytes.toString('base64');

describe('vision-pro analyzeImage: known answers', () => {
  it('finds the three rectangles of an 8-bit grey PNG with Otsu', async () => {
    const { base64, expected } = pngWithBlobs();
    const result = await analyze({ image: base64 });
    expect(result).toEqual(expected);
    expect(result.histogram.counts.reduce((a, b) => a + b, 0)).toBe(64 * 64);
    expect(result.threshold).toBeGreaterThan(10);
    expect(result.threshold).toBeLessThan(200);
  });

  it('reads a 16-bit CT DICOM with its rescale, modality and first window values', async () => {
    const { base64, expected } = dicomWithBlobs();
    expect(await analyze({ image: base64 })).toEqual(expected);
  });

  it('reads implicit little endian DICOM the same way', async () => {
    const { base64, expected } = dicomWithBlobs({ transferSyntax: IMPLICIT_LITTLE_ENDIAN });
    expect(await analyze({ image: base64 })).toEqual(expected);
  });

  it('sign-extends signed DICOM pixels from BitsStored and applies the slope', async () => {
    // 12 bits stored, signed: −100 (0xF9C) background, 300 blob; slope 0.5, intercept 10 → −40 and 160.
    const bytes = buildDicom({
      rows: 8,
      columns: 8,
      bitsStored: 12,
      pixelRepresentation: 1,
      pixels: paint(8, 8, 0xf9c, [{ x: 2, y: 2, width: 2, height: 2 }], 300),
      rescaleSlope: '0.5',
      rescaleIntercept: '10',
    });
    const result = await analyze({ image: b64(bytes) });
    expect(result).toMatchObject({ bitDepth: 12, modality: null, window: null, threshold: 60 });
    expect(result.statistics).toEqual({ min: -40, max: 160, mean: -27.5, stddev: 48.4123, median: -40 });
    expect(result.findings).toEqual([
      {
        id: 1,
        boundingBox: { x: 2, y: 2, width: 2, height: 2 },
        area: 4,
        meanIntensity: 160,
        centroid: { x: 2.5, y: 2.5 },
      },
    ]);
  });

  it('bins non-integer intensities for Otsu and takes the middle of the gap', async () => {
    // Stored 1 and 21, slope 0.5 → 0.5 and 10.5: 256 bins of 10/256, split between bin 0 and bin 255.
    const pixels = paint(8, 8, 1, [{ x: 1, y: 6, width: 3, height: 2 }], 21);
    const result = await analyze({ image: b64(buildDicom({ rows: 8, columns: 8, pixels, rescaleSlope: '0.5' })) });
    expect(result).toMatchObject({ threshold: 5.5, findingCount: 1 });
    expect(result.statistics).toMatchObject({ min: 0.5, max: 10.5, median: 0.5 });
    expect(result.findings[0]).toMatchObject({ area: 6, meanIntensity: 10.5, centroid: { x: 2, y: 6.5 } });
  });

  it('decodes an interlaced PNG and refuses one whose data inflates beyond its size', async () => {
    // 1×1 Adam7: only pass 1 holds a row (filter byte + the pixel).
    const tiny = Buffer.concat([
      PNG_SIGNATURE,
      ihdr(1, 1, 8, 0, 1),
      pngChunk('IDAT', deflateSync(Buffer.from([0, 77]))),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    expect((await analyze({ image: b64(tiny) })).statistics).toMatchObject({ min: 77, max: 77 });
    const bomb = Buffer.concat([
      PNG_SIGNATURE,
      ihdr(16, 16, 8, 0, 1),
      pngChunk('IDAT', deflateSync(Buffer.alloc(32 * 1024 * 1024))),
      pngChunk('IEND', Buffer.alloc(0)),
    ]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await refusal({ image: b64(bomb) })).toMatchObject({ code: 'MALFORMED_IMAGE' });
  });

  it('reads 8-bit DICOM with an odd pixel count padded to even length', async () => {
    const bytes = buildDicom({ rows: 3, columns: 3, bitsAllocated: 8, pixels: [0, 0, 0, 0, 9, 0, 0, 0, 0] });
    const result = await analyze({ image: b64(bytes), minArea: 1 });
    expect(result).toMatchObject({ width: 3, height: 3, bitDepth: 8, findingCount: 1, threshold: 4.5 });
  });

  it('reads a 16-bit grey PNG without rescaling', async () => {
    const samples = paint(16, 16, 1000, [{ x: 0, y: 0, width: 4, height: 4 }], 60000);
    const result = await analyze({ image: b64(buildPng({ width: 16, height: 16, bitDepth: 16, samples })) });
    expect(result).toMatchObject({ bitDepth: 16, threshold: 30500, findingCount: 1 });
    expect(result.statistics).toMatchObject({ min: 1000, max: 60000, median: 1000 });
    expect(result.findings[0]).toMatchObject({ area: 16, meanIntensity: 60000 });
  });

  it('converts RGB(A) to luma and ignores alpha', async () => {
    // Pure red (255, 0, 0) → round(0.299·255) = 76; white → 255; alpha varies.
    const samples = [255, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 7, 255, 0, 0, 128];
    const result = await analyze({ image: b64(buildPng({ width: 2, height: 2, colorType: 6, samples })), minArea: 1 });
    expect(result.statistics).toMatchObject({ min: 0, max: 255, median: 76 });
  });

  it('uses a given threshold, minArea and maxFindings; ranks ties by first pixel', async () => {
    const rects = [
      { x: 10, y: 0, width: 2, height: 2 },
      { x: 0, y: 5, width: 2, height: 2 },
      { x: 0, y: 0, width: 2, height: 2 },
      { x: 7, y: 9, width: 1, height: 1 },
    ];
    const image = b64(buildPng({ width: 12, height: 12, samples: paint(12, 12, 0, rects, 50) }));
    const result = await analyze({ image, threshold: 49.5, minArea: 2, maxFindings: 2 });
    expect(result.threshold).toBe(49.5);
    expect(result.findingCount).toBe(3);
    expect(result.findings.map((f) => [f.id, f.boundingBox.x, f.boundingBox.y])).toEqual([
      [1, 0, 0],
      [2, 10, 0],
    ]);
    expect((await analyze({ image, threshold: 49.5, minArea: 1 })).findingCount).toBe(4);
    expect((await analyze({ image, threshold: 50 })).findingCount).toBe(0);
  });

  it('finds nothing in a constant image', async () => {
    const result = await analyze({ image: b64(buildPng({ width: 4, height: 4, samples: new Array(16).fill(3) })) });
    expect(result).toMatchObject({ threshold: 3, findings: [], findingCount: 0 });
    expect(result.histogram.counts[0]).toBe(16);
  });

  it('labels a 4096×4096 foreground as one component without recursion', async () => {
    const side = 4096;
    const samples = new Uint8Array(side * side).fill(255);
    samples[0] = 0;
    const image = b64(buildPng({ width: side, height: side, samples }));
    const started = Date.now();
    const result = await analyze({ image, threshold: 100 });
    expect(result.findingCount).toBe(1);
    expect(result.findings[0]).toMatchObject({
      area: side * side - 1,
      boundingBox: { x: 0, y: 0, width: side, height: side },
    });
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});

describe('vision-pro analyzeImage: hostile input', () => {
  it('refuses an image bomb from its IHDR, fast and without allocating', async () => {
    const bomb = pngBomb();
    expect(bomb.length).toBeLessThan(300);
    const before = process.memoryUsage().arrayBuffers;
    const started = Date.now();
    const error = await refusal({ image: b64(bomb) });
    expect(error).toMatchObject({ code: 'IMAGE_TOO_LARGE', status: 413 });
    expect(Date.now() - started).toBeLessThan(200);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    expect(await refusal({ image: b64(pngBomb(4097, 16)) })).toMatchObject({ code: 'IMAGE_TOO_LARGE' });
  });

  it('refuses DICOM dimensions over the limit before reading pixels', async () => {
    const bytes = buildDicom({ rows: 5000, columns: 10, pixels: [], pixelData: Buffer.alloc(4) });
    expect(await refusal({ image: b64(bytes) })).toMatchObject({ code: 'IMAGE_TOO_LARGE', status: 413 });
  });

  it('refuses a truncated PNG as malformed', async () => {
    const { bytes } = pngWithBlobs();
    for (const length of [20, 40, bytes.length >> 1, bytes.length - 13]) {
      expect(await refusal({ image: b64(bytes.subarray(0, length)) })).toMatchObject({
        code: 'MALFORMED_IMAGE',
        status: 422,
      });
    }
  });

  it('refuses a PNG with a corrupted chunk as malformed', async () => {
    const bytes = Buffer.from(pngWithBlobs().bytes);
    bytes[45] = bytes[45]! ^ 0xff; // inside IDAT: the CRC no longer matches
    expect(await refusal({ image: b64(bytes) })).toMatchObject({ code: 'MALFORMED_IMAGE' });
  });

  it('refuses DICOM whose pixel data length does not match rows × columns', async () => {
    const bytes = buildDicom({ rows: 4, columns: 4, pixels: [], pixelData: Buffer.alloc(30) });
    const error = await refusal({ image: b64(bytes) });
    expect(error).toMatchObject({ code: 'MALFORMED_IMAGE', status: 422 });
    expect(error.message).toMatch(/30 bytes/);
  });

  it('refuses DICOM without Rows or with unsupported encodings', async () => {
    const base = { rows: 2, columns: 2, pixels: [1, 2, 3, 4] };
    expect(await refusal({ image: b64(buildDicom({ ...base, omit: ['00280010'] })) })).toMatchObject({
      code: 'MALFORMED_IMAGE',
    });
    expect(await refusal({ image: b64(buildDicom({ ...base, transferSyntax: JPEG_BASELINE })) })).toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
      status: 415,
    });
    expect(await refusal({ image: b64(buildDicom({ ...base, samplesPerPixel: 3 })) })).toMatchObject({
      code: 'UNSUPPORTED_FORMAT',
    });
  });

  it('refuses random bytes behind a DICM marker, and every truncation of a good DICOM, with a 4xx', async () => {
    expect(await refusal({ image: b64(garbageWithDicmMarker()) })).toMatchObject({ code: 'MALFORMED_IMAGE' });
    const started = Date.now();
    for (let seed = 1; seed <= 200; seed++) {
      const error = await refusal({ image: b64(garbageWithDicmMarker(seed, 200 + seed * 37)) });
      expect(['MALFORMED_IMAGE', 'UNSUPPORTED_FORMAT']).toContain(error.code);
    }
    const { bytes } = dicomWithBlobs();
    for (let length = 132; length < bytes.length; length += 7) {
      expect((await refusal({ image: b64(bytes.subarray(0, length)) })).code).toBe('MALFORMED_IMAGE');
    }
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses what is not base64, too large, or neither PNG nor DICOM', async () => {
    expect(await refusal({ image: 'not base64!' })).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    expect(await refusal({ image: 'A'.repeat(12 * 1024 * 1024) })).toMatchObject({
      code: 'INPUT_TOO_LARGE',
      status: 413,
    });
    const gif = Buffer.concat([Buffer.from('GIF89a'), randomBytes(7, 200)]);
    expect(await refusal({ image: b64(gif) })).toMatchObject({ code: 'UNSUPPORTED_FORMAT', status: 415 });
    expect(await refusal({ image: b64(Buffer.from('hi')) })).toMatchObject({ code: 'UNSUPPORTED_FORMAT' });
  });

  it('stops when the caller has gone', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(analyze({ image: pngWithBlobs().base64 }, controller.signal)).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('refuses bad input shapes in the schema', () => {
    const image = pngWithBlobs().base64;
    for (const body of [
      {},
      { image: 42 },
      { image: '' },
      { image, threshold: 'high' },
      { image, minArea: 0 },
      { image, minArea: 2.5 },
      { image, maxFindings: 501 },
      { image, maxFindings: 0 },
    ]) {
      expect(op.input.safeParse(body).success, JSON.stringify(body).slice(0, 60)).toBe(false);
    }
    expect(op.input.parse({ image })).toEqual({ image, minArea: 4, maxFindings: 100 });
  });
});
