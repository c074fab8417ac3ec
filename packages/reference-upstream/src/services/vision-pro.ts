// vision-pro: intensity analysis of a PNG or an uncompressed DICOM image — statistics, a histogram, Otsu's
// threshold and the connected regions above it ("findings"). Deterministic, no model: real work on small images.
import { z } from 'zod';

import { checkAborted, decodeBase64, operation, type ServiceOperations } from '../protocol.ts';
import { findComponents, type Finding, round4, summarize, type Summary } from './vision-pro/analysis.ts';
import { type DecodedImage, decodeImage } from './vision-pro/decode.ts';

export const MAX_IMAGE_BYTES = 8 * 1024 * 1024;

export const analyzeImageInput = z.object({
  /** The PNG or DICOM Part-10 file, base64. */
  image: z.string().min(1),
  /** Absolute intensity in the image's value range (DICOM: after the rescale); default Otsu's. */
  threshold: z.number().optional(),
  minArea: z.number().int().min(1).default(4),
  maxFindings: z.number().int().min(1).max(500).default(100),
});

export interface AnalyzeImageResult {
  format: DecodedImage['format'];
  width: number;
  height: number;
  bitDepth: number;
  modality: string | null;
  window: { center: number; width: number } | null;
  statistics: Summary['statistics'];
  histogram: Summary['histogram'];
  threshold: number;
  findings: Finding[];
  findingCount: number;
}

export const visionPro = {
  analyzeImage: operation(analyzeImageInput, async (input, { signal }): Promise<AnalyzeImageResult> => {
    checkAborted(signal);
    const image = decodeImage(decodeBase64(input.image, MAX_IMAGE_BYTES, 'image'));
    checkAborted(signal);
    const summary = summarize(image.pixels);
    const threshold = input.threshold ?? summary.otsu;
    const { findings, findingCount } = await findComponents(
      image.pixels,
      image.width,
      image.height,
      { threshold, minArea: input.minArea, maxFindings: input.maxFindings },
      signal,
    );
    return {
      format: image.format,
      width: image.width,
      height: image.height,
      bitDepth: image.bitDepth,
      modality: image.modality,
      window: image.window,
      statistics: summary.statistics,
      histogram: summary.histogram,
      threshold: round4(threshold),
      findings,
      findingCount,
    };
  }),
} satisfies ServiceOperations;
