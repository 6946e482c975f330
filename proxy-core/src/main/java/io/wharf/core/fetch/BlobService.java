package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.TieredStore;
import io.wharf.core.store.MemoryBlobCache;
import io.wharf.core.store.SharedFile;
import io.wharf.core.upstream.RegistryClient;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * What the server asks for a blob: a reader over the stored file or the fetch in flight, or just
 * its size. Store look-ups run on the disk executor; futures complete there or on the fetch's
 * thread, so callers hop back to their own event loop.
 */
public final class BlobService {
  private final TieredStore store;
  private final InFlightFetches inFlight;
  private final Executor diskExecutor;
  private final MemoryBlobCache memory;
  private volatile BlobRouting routing;

  public BlobService(TieredStore store, InFlightFetches inFlight, Executor diskExecutor) {
    this(store, inFlight, diskExecutor, null);
  }

  /** With a memory tier for small blobs ({@code memory} may be null: none). */
  public BlobService(TieredStore store, InFlightFetches inFlight, Executor diskExecutor,
      MemoryBlobCache memory) {
    this.store = store;
    this.inFlight = inFlight;
    this.diskExecutor = diskExecutor;
    this.memory = memory;
  }

  /**
   * Sends fetches of blobs no local tier holds through {@code routing} (peers) instead of straight
   * to the upstream; null turns that off.
   */
  public void routing(BlobRouting routing) {
    this.routing = routing;
  }

  /**
   * A reader for {@code digest}: from the store when cached, else from the (possibly new) fetch
   * in flight once the upstream has answered with headers.
   */
  public CompletableFuture<BlobReader> open(RegistryClient client, RepositoryName repo, Digest digest) {
    return open(client, repo, digest, false);
  }

  /**
   * As {@link #open(RegistryClient, RepositoryName, Digest)}; with {@code upstreamOnly} a fetch
   * this request starts goes to the upstream even when {@link #routing} would pick a peer (the
   * request came from a peer: it must not be forwarded again).
   */
  public CompletableFuture<BlobReader> open(RegistryClient client, RepositoryName repo,
      Digest digest, boolean upstreamOnly) {
    if (memory != null) {
      byte[] hot = memory.get(digest);
      if (hot != null) {
        return CompletableFuture.completedFuture(BlobReader.memory(hot));
      }
    }
    return CompletableFuture.supplyAsync(() -> openStored(digest), diskExecutor)
        .thenCompose(
            stored -> stored.isPresent()
                ? CompletableFuture.completedFuture(stored.get())
                : openInFlight(client, repo, digest, upstreamOnly, 0));
  }

  private CompletableFuture<BlobReader> openInFlight(
      RegistryClient client, RepositoryName repo, Digest digest, boolean upstreamOnly, int depth) {
    BlobRouting r = upstreamOnly ? null : routing;
    BlobSource source = r == null ? null : r.sourceFor(client, repo, digest);
    InFlightFetches.Joined j = inFlight.join(source != null ? source : BlobSource.of(client), repo,
        digest);
    return j.blob()
        .started()
        .thenComposeAsync(
            blob -> {
              if (blob.state() == GrowingBlob.State.PASSTHROUGH) {
                // No tier had room: the request that started the fetch gets the upstream body,
                // every other one a 503 with Retry-After.
                PassthroughBody body = j.leader() ? blob.takePassthrough() : null;
                return body != null
                    ? CompletableFuture.completedFuture(BlobReader.passthrough(body))
                    : CompletableFuture.failedFuture(blob.failure());
              }
              SharedFile f = blob.newReaderFile();
              if (f != null) {
                return CompletableFuture.completedFuture(BlobReader.growing(blob, f, !j.leader()));
              }
              // The fetch finished (and let go of its file) between join and now: it is stored.
              Optional<BlobReader> stored = openStored(digest);
              if (stored.isPresent() || depth > 2) {
                return stored.<CompletableFuture<BlobReader>>map(CompletableFuture::completedFuture)
                    .orElseGet(() -> CompletableFuture.failedFuture(new IllegalStateException(
                        "blob " + digest + " vanished between fetch and read")));
              }
              return openInFlight(client, repo, digest, upstreamOnly, depth + 1);
            },
            diskExecutor);
  }

  private Optional<BlobReader> openStored(Digest digest) {
    return store.openBlob(digest).map(f -> {
      long size = f.size();
      if (memory != null && memory.fits(size)) {
        byte[] bytes = readAll(f, size);
        if (bytes != null) {
          f.release();
          memory.put(digest, bytes);
          return BlobReader.memory(bytes);
        }
      }
      return BlobReader.stored(f, size);
    });
  }

  /** The whole (small) file, or null if it could not be read (then it is served from disk). */
  private static byte[] readAll(SharedFile f, long size) {
    byte[] b = new byte[(int) size];
    java.nio.ByteBuffer buf = java.nio.ByteBuffer.wrap(b);
    try {
      while (buf.hasRemaining()) {
        if (f.channel().read(buf, buf.position()) < 0) {
          return null;
        }
      }
      return b;
    } catch (java.io.IOException e) {
      return null;
    }
  }

  /** The blob's size without fetching it: store, then the fetch in flight, then upstream HEAD. */
  public CompletableFuture<Long> size(RegistryClient client, RepositoryName repo, Digest digest) {
    return CompletableFuture.supplyAsync(() -> store.blobSize(digest), diskExecutor)
        .thenCompose(
            size -> {
              if (size.isPresent()) {
                return CompletableFuture.completedFuture(size.get());
              }
              GrowingBlob g = inFlight.get(digest);
              if (g != null && g.length() >= 0) {
                return CompletableFuture.completedFuture(g.length());
              }
              return client.headBlob(repo, digest).thenApply(h -> h.size());
            });
  }

  /**
   * Removes {@code digest} from the memory tier and every disk tier (see {@link
   * TieredStore#purge}); readers already sending it finish. Returns the tiers it was in. Blocking.
   */
  public java.util.List<String> purge(Digest digest) {
    java.util.List<String> from = new java.util.ArrayList<>();
    if (memory != null && memory.remove(digest)) {
      from.add("memory");
    }
    from.addAll(store.purge(digest));
    return from;
  }

  /** The memory tier for small blobs, or null. */
  public MemoryBlobCache memory() {
    return memory;
  }

  public InFlightFetches inFlight() {
    return inFlight;
  }

  public TieredStore store() {
    return store;
  }
}
