package io.wharf.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read-only {@link FileChannel} shared by every reader of one blob, closed when the last
 * reference is released.
 *
 * <p>Why shared: an in-flight blob is renamed from {@code tmp/} to its digest path when it
 * completes, and may later be evicted or purged. A descriptor opened once keeps working through
 * rename and unlink (POSIX), so readers never reopen by path mid-response and a response never
 * ends short because the file moved. The server wraps slices of this channel in zero-copy file
 * regions that release their reference when written.
 */
public final class SharedFile {
  private static final Logger log = LoggerFactory.getLogger(SharedFile.class);

  private final FileChannel channel;
  private final AtomicInteger refs = new AtomicInteger(1);

  private SharedFile(FileChannel channel) {
    this.channel = channel;
  }

  /** Opens {@code path} for reading with one reference held by the caller. Blocking. */
  public static SharedFile open(Path path) throws IOException {
    return new SharedFile(FileChannel.open(path, StandardOpenOption.READ));
  }

  public FileChannel channel() {
    return channel;
  }

  /** Adds a reference; fails if the file was already closed. */
  public SharedFile retain() {
    for (; ; ) {
      int n = refs.get();
      if (n <= 0) {
        throw new IllegalStateException("SharedFile already closed");
      }
      if (refs.compareAndSet(n, n + 1)) {
        return this;
      }
    }
  }

  /** Drops a reference; the channel closes with the last one. */
  public void release() {
    int n = refs.decrementAndGet();
    if (n == 0) {
      try {
        channel.close();
      } catch (IOException e) {
        log.warn("closing blob file failed: {}", e.toString());
      }
    } else if (n < 0) {
      throw new IllegalStateException("SharedFile released too often");
    }
  }

  public int refCount() {
    return refs.get();
  }

  /** Size of the file now. */
  public long size() {
    try {
      return channel.size();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
