// Turns PNG or DICOM Part-10 bytes into one intensity per pixel, refusing image bombs from the header alone
// (before anything the size of the image is allocated) and mapping every decoder failure to a 4xx refusal.
import { inflateSync } from 'node:zlib';

import type { DataSet } from 'dicom-parser';
import dicomParser from 'dicom-parser';
import { PNG } from 'pngjs';

import { UpstreamError } from '../../protocol.ts';

export const MAX_SIDE = 4096;
export const MAX_PIXELS = 16 * 1024 * 1024;

export interface DecodedImage {
  format: 'PNG' | 'DICOM';
  width: number;
  height: number;
  /** Bits per intensity value: 8 or 16 for PNG, BitsStored for DICOM. */
  bitDepth: number;
  modality: string | null;
  window: { center: number; width: number } | null;
  /** Row-major intensities (DICOM: after the rescale). Float32 holds every 16-bit value exactly. */
  pixels: Float32Array;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const EXPLICIT_LITTLE = '1.2.840.10008.1.2.1';
const IMPLICIT_LITTLE = '1.2.840.10008.1.2';

export function decodeImage(bytes: Buffer): DecodedImage {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return decodePng(bytes);
  if (bytes.length >= 132 && bytes.toString('latin1', 128, 132) === 'DICM') return decodeDicom(bytes);
  throw new UpstreamError('UNSUPPORTED_FORMAT', 'The image is neither a PNG nor a DICOM Part-10 file', 415);
}

function malformed(message: string): UpstreamError {
  return new UpstreamError('MALFORMED_IMAGE', message, 422);
}

function unsupported(message: string): UpstreamError {
  return new UpstreamError('UNSUPPORTED_FORMAT', message, 415);
}

/** dicom-parser throws strings and `{ exception }` objects; pngjs throws Errors. */
function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'exception' in error) return String(error.exception);
  return String(error);
}

function checkDimensions(width: number, height: number): void {
  if (width > MAX_SIDE || height > MAX_SIDE || width * height > MAX_PIXELS) {
    throw new UpstreamError(
      'IMAGE_TOO_LARGE',
      `The image declares ${width}×${height} pixels; at most ${MAX_SIDE}×${MAX_SIDE} are analysed`,
      413,
    );
  }
  if (width < 1 || height < 1) throw malformed(`The image declares ${width}×${height} pixels`);
}

function decodePng(bytes: Buffer): DecodedImage {
  // IHDR is the first chunk: length 13 at 8, type at 12, width/height at 16/20, depth 24, colour 25, interlace 28.
  if (bytes.length < 33 || bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') {
    throw malformed('The PNG does not start with an IHDR chunk');
  }
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  checkDimensions(width, height);
  if (bytes[28] === 1) checkInterlacedSize(bytes, width, height, depth, colorType);

  let png: PNG;
  try {
    png = PNG.sync.read(bytes, depth === 16 ? { skipRescale: true } : {});
  } catch (error) {
    throw malformed(`The PNG cannot be decoded: ${describe(error)}`);
  }
  if (png.width !== width || png.height !== height) throw malformed('The PNG changed its dimensions while decoding');
  // pngjs expands every colour type to RGBA (16-bit: a Uint16Array); palettes and < 8-bit grey to 8-bit.
  const data = png.data as Uint8Array | Uint16Array;
  const count = width * height;
  if (data.length < count * 4) throw malformed('The PNG has fewer pixels than it declares');
  const pixels = new Float32Array(count);
  const grey = colorType === 0 || colorType === 4;
  for (let i = 0, j = 0; i < count; i++, j += 4) {
    // Grey: the sample itself; colour: Rec. 601 luma, rounded as 8/16-bit greyscale conversions do.
    pixels[i] = grey ? data[j]! : Math.round(0.299 * data[j]! + 0.587 * data[j + 1]! + 0.114 * data[j + 2]!);
  }
  return {
    format: 'PNG',
    width,
    height,
    bitDepth: depth === 16 ? 16 : 8,
    modality: null,
    window: null,
    pixels,
  };
}

/** pngjs inflates interlaced images without a size bound (a zlib bomb): inflate once, bounded, to check. */
function checkInterlacedSize(bytes: Buffer, width: number, height: number, depth: number, colorType: number): void {
  const channels = [1, 0, 3, 1, 2, 0, 4][colorType] ?? 4;
  // Adam7 adds at most one filter byte per pass row and a partial byte per pass row on top of the plain size.
  const limit = (Math.ceil((width * channels * depth) / 8) + 1) * height + 7 * (height + 8) * 2;
  const idat: Buffer[] = [];
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    const type = bytes.toString('latin1', offset + 4, offset + 8);
    if (type === 'IDAT') idat.push(bytes.subarray(offset + 8, Math.min(bytes.length, offset + 8 + length)));
    if (type === 'IEND') break;
    offset += 12 + length;
  }
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: limit });
  } catch (error) {
    throw malformed(`The PNG image data does not inflate to its declared size: ${describe(error)}`);
  }
}

function decodeDicom(bytes: Buffer): DecodedImage {
  const array = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  let dataSet: DataSet;
  try {
    // The meta header first: a compressed or big-endian body is refused before the parser walks it.
    const header = dicomParser.readPart10Header(array);
    const syntax = header.string('x00020010');
    if (syntax === undefined) throw malformed('The DICOM file has no transfer syntax');
    if (syntax !== EXPLICIT_LITTLE && syntax !== IMPLICIT_LITTLE) {
      throw unsupported(`The DICOM transfer syntax ${syntax} is not supported (only uncompressed little endian)`);
    }
    dataSet = dicomParser.parseDicom(array);
  } catch (error) {
    if (error instanceof UpstreamError) throw error;
    throw malformed(`The DICOM file cannot be parsed: ${describe(error)}`);
  }
  try {
    return readDicomPixels(dataSet, bytes);
  } catch (error) {
    if (error instanceof UpstreamError) throw error;
    throw malformed(`The DICOM file cannot be read: ${describe(error)}`);
  }
}

function readDicomPixels(dataSet: DataSet, bytes: Buffer): DecodedImage {
  const required = (tag: string, name: string): number => {
    const value = dataSet.uint16(tag);
    if (value === undefined) throw malformed(`The DICOM file has no ${name}`);
    return value;
  };
  const height = required('x00280010', 'Rows');
  const width = required('x00280011', 'Columns');
  checkDimensions(width, height);
  const bitsAllocated = required('x00280100', 'BitsAllocated');
  const signed = required('x00280103', 'PixelRepresentation') === 1;
  const samples = required('x00280002', 'SamplesPerPixel');
  if (samples !== 1) throw unsupported(`DICOM images with ${samples} samples per pixel are not supported`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16) {
    throw unsupported(`DICOM images with ${bitsAllocated} bits allocated are not supported`);
  }
  const frames = dataSet.intString('x00280008') ?? 1;
  if (frames > 1) throw unsupported('Multi-frame DICOM images are not supported');
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw malformed(`The DICOM BitsStored ${bitsStored} is invalid`);

  const element = dataSet.elements.x7fe00010;
  if (element === undefined) throw malformed('The DICOM file has no pixel data');
  if (element.encapsulatedPixelData) throw unsupported('Compressed DICOM pixel data is not supported');
  const bytesPerPixel = bitsAllocated / 8;
  const expected = width * height * bytesPerPixel;
  // An odd-length value is padded to even length by the standard.
  const padded = expected + (expected % 2);
  if (element.length !== expected && element.length !== padded) {
    throw malformed(`The DICOM pixel data has ${element.length} bytes; ${width}×${height}×${bytesPerPixel} expected`);
  }
  if (element.dataOffset + expected > bytes.length) throw malformed('The DICOM pixel data is truncated');

  const slope = finiteOr(dataSet.floatString('x00281053'), 1);
  const intercept = finiteOr(dataSet.floatString('x00281052'), 0);
  const shift = 32 - bitsStored;
  const mask = (1 << bitsStored) - 1;
  const count = width * height;
  const pixels = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const offset = element.dataOffset + i * bytesPerPixel;
    const raw = bytesPerPixel === 1 ? bytes[offset]! : bytes.readUInt16LE(offset);
    // Keep only the stored bits; sign-extend from the stored high bit when signed.
    const stored = signed ? (raw << shift) >> shift : raw & mask;
    pixels[i] = stored * slope + intercept;
  }

  const center = dataSet.floatString('x00281050', 0);
  const windowWidth = dataSet.floatString('x00281051', 0);
  const modality = dataSet.string('x00080060');
  return {
    format: 'DICOM',
    width,
    height,
    bitDepth: bitsStored,
    modality: modality === undefined || modality === '' ? null : modality,
    window:
      center !== undefined && windowWidth !== undefined && Number.isFinite(center) && Number.isFinite(windowWidth)
        ? { center, width: windowWidth }
        : null,
    pixels,
  };
}

function finiteOr(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) ? value : fallback;
}
