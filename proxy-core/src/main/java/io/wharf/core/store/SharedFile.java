package io.wharf.core.store;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
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
 *
 * <p>A stored blob's readers also share one instance (see {@link OpenBlobFiles}), so ten thousand
 * clients reading one layer cost one descriptor, not ten thousand.
 */
public final class SharedFile {
  private static final Logger log = LoggerFactory.getLogger(SharedFile.class);

  private final FileChannel channel;
  private final AtomicInteger refs = new AtomicInteger(1);
  private final Consumer<SharedFile> onClose;

  private SharedFile(FileChannel channel, Consumer<SharedFile> onClose) {
    this.channel = channel;
    this.onClose = onClose;
  }

  /** Opens {@code path} for reading with one reference held by the caller. Blocking. */
  public static SharedFile open(Path path) throws IOException {
    return open(path, f -> { });
  }

  /** As {@link #open(Path)}; {@code onClose} runs once, after the last reference closed it. */
  static SharedFile open(Path path, Consumer<SharedFile> onClose) throws IOException {
    return new SharedFile(FileChannel.open(path, StandardOpenOption.READ), onClose);
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

  /** Adds a reference unless the file was already closed (or is closing); false then. */
  boolean tryRetain() {
    for (; ; ) {
      int n = refs.get();
      if (n <= 0) {
        return false;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return true;
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
      onClose.accept(this);
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
