package io.wharf.core.fetch;

import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.TieredStore;
import io.wharf.core.upstream.RegistryClient;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * At most one upstream fetch per digest. The first caller for a digest starts a {@link
 * BlobDownload}; every later caller joins its {@link GrowingBlob}. No lock is held across I/O: the
 * map's {@code compute} only creates the object, and the download starts after.
 */
public final class InFlightFetches {
  private final ConcurrentHashMap<Digest, GrowingBlob> inFlight = new ConcurrentHashMap<>();
  private final TieredStore store;
  private final Executor diskExecutor;
  private final ScheduledExecutorService scheduler;
  private final WharfMeters meters;

  public InFlightFetches(
      TieredStore store, Executor diskExecutor, ScheduledExecutorService scheduler,
      WharfMeters meters) {
    this.store = store;
    this.diskExecutor = diskExecutor;
    this.scheduler = scheduler;
    this.meters = meters;
  }

  /** Result of {@link #join}: the blob, and whether this caller started its fetch. */
  public record Joined(GrowingBlob blob, boolean leader) {}

  /** Joins the fetch of {@code digest}, starting one from {@code client} if none is in flight. */
  public Joined join(RegistryClient client, RepositoryName repo, Digest digest) {
    return join(BlobSource.of(client), repo, digest);
  }

  /** Joins the fetch of {@code digest}, starting one from {@code source} if none is in flight. */
  public Joined join(BlobSource source, RepositoryName repo, Digest digest) {
    GrowingBlob[] created = new GrowingBlob[1];
    // An abandoned fetch (its last reader left and it is being cancelled) is never joined: the
    // caller starts a fresh one in its place; the old one's clean-up removes only itself.
    GrowingBlob blob =
        inFlight.compute(
            digest,
            (d, existing) -> {
              if (existing != null && !existing.isAbandoned()) {
                return existing;
              }
              created[0] = new GrowingBlob(d, source.upstream());
              return created[0];
            });
    if (created[0] == null) {
      meters.fetchJoined();
      return new Joined(blob, false);
    }
    BlobDownload download =
        new BlobDownload(
            blob, source, repo, store, diskExecutor, scheduler, meters,
            () -> inFlight.remove(digest, blob));
    download.start();
    return new Joined(blob, true);
  }

  /** The fetch in flight for {@code digest}, or null. */
  public GrowingBlob get(Digest digest) {
    return inFlight.get(digest);
  }

  /** The fetches in flight now (a snapshot). */
  public java.util.Collection<GrowingBlob> snapshot() {
    return java.util.List.copyOf(inFlight.values());
  }

  public int size() {
    return inFlight.size();
  }
}
