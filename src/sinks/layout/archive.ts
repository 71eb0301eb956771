/**
 * The read side of the blob layout (path.ts), for `insight-logs search`: what a blob
 * container and a dir destination's folder both offer, so the search walks either the same
 * way. The blob service (../blob/service.ts) and the dir service (../dir/service.ts)
 * implement it; names are blob names relative to a container, folders end with `/`.
 */

/** One stored file of the layout and its length when listed. */
export interface ArchiveEntry {
  /** Blob name relative to the container: `resourceId=/…/m=00/PT1H.json`. */
  name: string;
  /** Length in bytes when listed; an append blob being written may be longer by the time it is read. */
  size: number;
}

/** What lies directly below a folder: its sub-folders (names ending in `/`) and its files. */
export interface ArchiveListing {
  folders: string[];
  files: ArchiveEntry[];
}

export interface ArchiveReader {
  /** Where the archive is, for messages: an endpoint without query string, or a folder. Never a secret. */
  readonly location: string;
  /** True when the container (or the container's folder) exists. */
  containerExists(container: string, abortSignal?: AbortSignal): Promise<boolean>;
  /** Folders and files directly below `folder` (`''` for the container's top, else ending in `/`); empty when it does not exist. */
  list(container: string, folder: string, abortSignal?: AbortSignal): Promise<ArchiveListing>;
  /** Every file below `folder` at any depth (one flat listing: a whole day's hours in one call). */
  listFiles(container: string, folder: string, abortSignal?: AbortSignal): Promise<ArchiveEntry[]>;
  /**
   * The bytes [0, `length`) of a file as a stream of chunks: never more than `length`, so a
   * blob appended to during the read is read as it was listed (the rest on the next search).
   */
  read(container: string, name: string, length: number, abortSignal?: AbortSignal): AsyncIterable<Buffer>;
}
