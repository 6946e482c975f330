package io.wharf.core.store;

import java.util.List;
import java.util.function.Consumer;

/**
 * Bytes of one tier's budget promised to a blob on its way in: a fetch (sized by the upstream's
 * {@code Content-Length}) or a copy between tiers. It can grow while a blob of unknown length
 * arrives, and is returned when the blob is committed or abandoned. Not thread-safe: one owner.
 */
public final class Reservation {
  private final LruIndex index;
  private final Consumer<List<LruIndex.Entry>> victimSink;
  private final String tier;
  private long bytes;
  private boolean closed;

  Reservation(
      LruIndex index, String tier, long bytes, Consumer<List<LruIndex.Entry>> victimSink) {
    this.index = index;
    this.tier = tier;
    this.bytes = bytes;
    this.victimSink = victimSink;
  }

  public String tier() {
    return tier;
  }

  public long bytes() {
    return bytes;
  }

  LruIndex index() {
    return index;
  }

  /**
   * Makes the reservation at least {@code total} bytes; false if the tier has no room for that
   * (the reservation is unchanged then).
   */
  public boolean ensure(long total) {
    if (closed) {
      throw new IllegalStateException("reservation closed");
    }
    if (total <= bytes) {
      return true;
    }
    long extra = total - bytes;
    var victims = index.reserve(extra);
    if (victims == null) {
      return false;
    }
    bytes = total;
    if (!victims.isEmpty()) {
      victimSink.accept(victims);
    }
    return true;
  }

  /** Hands the reserved bytes over (to a commit); returns how many. */
  long take() {
    if (closed) {
      throw new IllegalStateException("reservation closed");
    }
    closed = true;
    return bytes;
  }

  /** Returns the bytes unused; idempotent. */
  public void release() {
    if (!closed) {
      closed = true;
      index.release(bytes);
    }
  }

  public boolean isClosed() {
    return closed;
  }
}
