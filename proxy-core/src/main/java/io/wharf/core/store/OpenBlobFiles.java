package io.wharf.core.store;

import io.wharf.core.oci.Digest;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The stored blobs of one disk directory that are open now, one {@link SharedFile} per digest
 * shared by all its readers.
 *
 * <p>Why: a popular layer read by thousands of slow clients at once would otherwise hold one
 * descriptor per client on top of each client's socket, and the process runs out of descriptors
 * (its open-file limit) long before it runs out of memory. Readers use positional reads and
 * {@code sendfile} with explicit offsets, so one descriptor serves them all.
 *
 * <p>An entry lives exactly as long as its file has readers: the last release closes the
 * descriptor and removes the entry. {@link #forget} drops the entry when the file at the path
 * is deleted or replaced, so later readers open the current file while earlier ones finish on
 * the descriptor they hold (a deleted file stays readable through it). Lock-free; opening a file
 * blocks, so callers are on a disk executor as for any store read.
 */
final class OpenBlobFiles {
  private final ConcurrentHashMap<Digest, SharedFile> open = new ConcurrentHashMap<>();

  /**
   * A reference to {@code d}'s file at {@code path}, shared with its other readers; the caller
   * releases it. Throws {@link java.nio.file.NoSuchFileException} if there is no such file and
   * nobody has it open.
   */
  SharedFile open(Digest d, Path path) throws IOException {
    for (; ; ) {
      SharedFile f = open.get(d);
      if (f != null) {
        if (f.tryRetain()) {
          return f;
        }
        open.remove(d, f); // its last reader is closing it right now
        continue;
      }
      SharedFile fresh = SharedFile.open(path, closed -> open.remove(d, closed));
      SharedFile raced = open.putIfAbsent(d, fresh);
      if (raced == null) {
        return fresh;
      }
      fresh.release(); // another reader opened it first: share theirs
    }
  }

  /** New readers of {@code d} open the file afresh; readers holding the old one keep it. */
  void forget(Digest d) {
    open.remove(d);
  }

  /** How many blobs are open (metrics, tests). */
  int size() {
    return open.size();
  }
}
