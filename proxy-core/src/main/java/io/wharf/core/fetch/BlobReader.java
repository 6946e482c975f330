package io.wharf.core.fetch;

import io.wharf.core.store.SharedFile;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One client's view of a blob: a stored file, or a fetch still in flight. The server sends bytes
 * {@code [0, readable())} as file regions of {@link #file()}, and parks with {@link
 * #whenReadableBeyond} when it has sent them all. {@link #close()} exactly once.
 *
 * <p>A third kind, {@link Source#PASSTHROUGH}, has no file: no tier had room, so the server
 * subscribes to {@link #passthrough()} and writes the upstream bytes straight to its client.
 */
public final class BlobReader implements AutoCloseable {

  /** Where the bytes come from, for metrics and logs. */
  public enum Source {
    DISK,
    INFLIGHT,
    /** Streamed from upstream to this one client, not stored (no tier had room). */
    PASSTHROUGH,
    /** A small blob held on the heap by the memory tier. */
    MEMORY
  }

  private final SharedFile file;
  private final GrowingBlob growing;
  private final long storedLength;
  private final boolean joined;
  private final PassthroughBody passthrough;
  private byte[] memory;
  private final AtomicBoolean closed = new AtomicBoolean();

  private BlobReader(SharedFile file, GrowingBlob growing, long storedLength, boolean joined,
      PassthroughBody passthrough) {
    this.file = file;
    this.growing = growing;
    this.storedLength = storedLength;
    this.joined = joined;
    this.passthrough = passthrough;
  }

  /** A reader of a complete stored blob; takes over the caller's reference to {@code file}. */
  public static BlobReader stored(SharedFile file, long length) {
    return new BlobReader(file, null, length, false, null);
  }

  static BlobReader growing(GrowingBlob blob, SharedFile file, boolean joined) {
    return new BlobReader(file, blob, -1, joined, null);
  }

  static BlobReader memory(byte[] bytes) {
    BlobReader r = new BlobReader(null, null, bytes.length, false, null);
    r.memory = bytes;
    return r;
  }

  /** The bytes of a {@link Source#MEMORY} reader (null otherwise); never modify them. */
  public byte[] memory() {
    return memory;
  }

  static BlobReader passthrough(PassthroughBody body) {
    return new BlobReader(null, null, body.length(), false, body);
  }

  public Source source() {
    return passthrough != null ? Source.PASSTHROUGH
        : memory != null ? Source.MEMORY
        : growing == null ? Source.DISK : Source.INFLIGHT;
  }

  /**
   * The upstream body of a {@link Source#PASSTHROUGH} reader (null otherwise): subscribe once;
   * {@link #close()} cancels it.
   */
  public PassthroughBody passthrough() {
    return passthrough;
  }

  /** True if this reader joined a fetch another request had started. */
  public boolean joined() {
    return joined;
  }

  /** Total length, or -1 while an in-flight fetch does not know it yet. */
  public long length() {
    return growing == null ? storedLength : growing.length();
  }

  /** Bytes from 0 that may be sent now; equals {@link #length()} only once verified. */
  public long readable() {
    return growing == null ? storedLength : growing.readable();
  }

  public boolean isComplete() {
    return growing == null || growing.state() == GrowingBlob.State.COMPLETE;
  }

  /**
   * True once the blob is in the store (at once for a stored or memory reader); false if its
   * fetch ended without storing it (failure, passthrough, a store that could not take it).
   */
  public java.util.concurrent.CompletableFuture<Boolean> stored() {
    if (growing != null) {
      return growing.stored();
    }
    return java.util.concurrent.CompletableFuture.completedFuture(passthrough == null);
  }

  /** The failure that ended an in-flight fetch, or null. */
  public Throwable failure() {
    return growing == null ? null : growing.failure();
  }

  /** See {@link GrowingBlob#whenReadableBeyond}; immediate for stored blobs. */
  public void whenReadableBeyond(long position, Runnable callback) {
    if (growing == null) {
      callback.run();
    } else {
      growing.whenReadableBeyond(position, callback);
    }
  }

  /** The file to send regions of; null for passthrough and memory readers. */
  public SharedFile file() {
    return file;
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      if (passthrough != null) {
        passthrough.close();
      } else if (file != null) {
        file.release();
        if (growing != null) {
          growing.readerClosed();
        }
      }
    }
  }
}
