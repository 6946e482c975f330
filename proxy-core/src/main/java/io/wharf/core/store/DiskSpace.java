package io.wharf.core.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Free space of the file system under a tier directory. The real one asks the OS ({@code
 * statvfs} through {@link java.nio.file.FileStore#getUsableSpace}); tests pass a fake, because a
 * full or read-only disk cannot be simulated with permissions when the tests run as root.
 */
@FunctionalInterface
public interface DiskSpace {

  /** Bytes this process may still write under {@code dir}. Blocking. */
  long usableBytes(Path dir) throws IOException;

  /** The operating system's answer. */
  static DiskSpace system() {
    return dir -> Files.getFileStore(dir).getUsableSpace();
  }
}
