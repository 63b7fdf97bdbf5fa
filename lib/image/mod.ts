/**
 * The image stage: photo files → RGB pixels → square views. Reading refuses
 * what is not a photo before a byte is decoded; JPEGs decode at the smallest
 * DCT scale a view needs; EXIF orientation is applied; views are the
 * course's centre square or RandomResizedCrop, resampled with anti-aliasing.
 * No TensorFlow.js here.
 *
 * ```ts
 * import { loadView } from "./mod.ts";
 * const rgb = await loadView("../shared/data/space-rocks/Basalt/Basalt_Cristobalite_s69-45539.jpg", "centre");
 * if (rgb.length !== 224 * 224 * 3) throw new Error("a 224 px view");
 * ```
 * @module
 */
export {
  IMAGE_EXTENSIONS,
  isImageName,
  maxPhotoBytes,
  readPhotoFile,
  type ReadPhotoOptions,
} from "./read_photo.ts";
export { decodeImage, type DecodeOptions, DEFAULT_MAX_PIXELS, type RgbImage } from "./decode.ts";
export {
  centreRegion,
  randomResizedCrop,
  type Region,
  resample,
  sizedView,
  VIEW_SIZE,
  type ViewName,
  viewRegion,
  viewSize,
} from "./view.ts";
export { loadView, loadViews } from "./load_view.ts";
export { encodePng } from "./png_encode.ts";
