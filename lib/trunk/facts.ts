/**
 * What the rest of the toolkit may know about the trunk without loading it:
 * the width of its embedding and the preprocessing its weights expect.
 * Importing this module loads nothing else.
 * @module
 */

/** Width of the embedding the trunk produces: ResNet50's global average pool before `fc1000`. */
export const EMBEDDING_SIZE = 2048;

/** ImageNet mean of each channel, in BGR order (Keras "caffe" mode). */
export const CAFFE_MEAN_BGR: readonly [number, number, number] = [
  103.939,
  116.779,
  123.68,
];

/** A description of the preprocessing, saved with every model. */
export const PREPROCESSING = {
  mode: "caffe",
  channelOrder: "BGR",
  meanBgr: CAFFE_MEAN_BGR,
  scale: 1,
} as const;
