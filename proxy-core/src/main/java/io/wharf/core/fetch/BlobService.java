package io.wharf.core.fetch;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.TieredStore;
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

  public BlobService(TieredStore store, InFlightFetches inFlight, Executor diskExecutor) {
    this.store = store;
    this.inFlight = inFlight;
    this.diskExecutor = diskExecutor;
  }

  /**
   * A reader for {@code digest}: from the store when cached, else from the (possibly new) fetch
   * in flight once the upstream has answered with headers.
   */
  public CompletableFuture<BlobReader> open(RegistryClient client, RepositoryName repo, Digest digest) {
    return CompletableFuture.supplyAsync(() -> openStored(digest), diskExecutor)
        .thenCompose(
            stored -> stored.isPresent()
                ? CompletableFuture.completedFuture(stored.get())
                : openInFlight(client, repo, digest, 0));
  }

  private CompletableFuture<BlobReader> openInFlight(
      RegistryClient client, RepositoryName repo, Digest digest, int depth) {
    InFlightFetches.Joined j = inFlight.join(client, repo, digest);
    return j.blob()
        .started()
        .thenComposeAsync(
            blob -> {
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
              return openInFlight(client, repo, digest, depth + 1);
            },
            diskExecutor);
  }

  private Optional<BlobReader> openStored(Digest digest) {
    return store.openBlob(digest).map(f -> BlobReader.stored(f, f.size()));
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

  public InFlightFetches inFlight() {
    return inFlight;
  }

  public TieredStore store() {
    return store;
  }
}
