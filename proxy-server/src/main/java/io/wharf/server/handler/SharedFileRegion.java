package io.wharf.server.handler;

import io.netty.channel.DefaultFileRegion;
import io.wharf.core.store.SharedFile;

/**
 * A zero-copy slice of a {@link SharedFile}. It is a {@link DefaultFileRegion} so the epoll
 * transport uses native {@code sendfile}; but where {@code DefaultFileRegion} would close its
 * channel when released, this one only drops its reference to the shared descriptor, which other
 * readers (and later slices) keep using.
 */
final class SharedFileRegion extends DefaultFileRegion {
  private final SharedFile shared;

  /** Takes a reference to {@code shared}; the region's release gives it back. */
  SharedFileRegion(SharedFile shared, long position, long count) {
    super(shared.channel(), position, count); // validates position and count before we retain
    shared.retain();
    this.shared = shared;
  }

  @Override
  protected void deallocate() {
    shared.release();
  }
}
