/**
 * What a labelled photo collection is: photos with a class and a photo
 * series (group), the files left out and why, and photos filed under two
 * classes. The data stage's other modules make and use these.
 * @module
 */

/** One labelled photo. */
export interface Sample {
  /** Full path. */
  path: string;
  /** Path relative to the data folder, `/`-separated (`Basalt/x.jpg`). */
  name: string;
  /** Index into {@linkcode Dataset.classes}. */
  label: number;
  /** Which photo series (rock sample) it belongs to. */
  group: string;
}

/** A file that was not used, and why. */
export interface Skipped {
  /** The file, relative to the data folder when it is in one. */
  file: string;
  /** What was wrong with it. */
  reason: string;
}

/** The photos of a data folder. */
export interface Dataset {
  /** The data folder. */
  root: string;
  /** Class names: the sub-folder names, sorted. */
  classes: string[];
  /** Every photo, sorted by class then name. */
  samples: Sample[];
  /** Files that are not photos (wrong extension, not a file). */
  skipped: Skipped[];
  /** Photos whose bytes appear under more than one class (found when the folder is scanned). */
  duplicates?: Duplicate[];
}

/** Files with the same bytes in more than one class. */
export interface Duplicate {
  /** The files, relative to the data folder (`Basalt/a.jpg`), sorted. */
  files: string[];
  /** Their classes, sorted, each once. */
  classes: string[];
}
