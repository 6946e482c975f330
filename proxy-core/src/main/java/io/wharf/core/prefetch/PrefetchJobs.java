package io.wharf.core.prefetch;

import io.wharf.core.fetch.BlobReader;
import io.wharf.core.fetch.BlobService;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.store.Pins;
import io.wharf.core.upstream.RegistryClient;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Prefetch jobs: warm the cache with whole images before a batch of jobs pulls them.
 *
 * <h2>Design</h2>
 *
 * A job resolves each image ({@link ImageResolver}: manifests through {@code ManifestService},
 * exactly as a pull), optionally pins every digest it found (before fetching, so blobs are
 * protected from the moment they are stored), then fetches the union of the blobs with at most
 * {@link #BLOB_CONCURRENCY} at a time. Each blob goes through {@link BlobService#open}, the path
 * client requests take: a cached blob costs a look-up, a missing one joins or starts the one
 * coalesced fetch of that digest, so a client pulling the same blob meanwhile shares the same
 * upstream download. The job holds its reader until the fetch completes (verified and stored),
 * then lets go.
 *
 * <p>Nothing blocks: callbacks of the fetch hand off to the executor given, pins are written
 * there. In Wharf that is a small pool of its own ({@code wharf-prefetch}), never the disk
 * executor that client requests wait on, so jobs (even pathological ones, see
 * {@link ImageResolver} for the limits on resolving) cannot starve the registry port. Progress (bytes of finished blobs plus what in-flight ones have on disk) is read from a
 * snapshot under the job's lock. Finished jobs are kept {@link #KEEP_FINISHED_MILLIS} and at most
 * {@link #MAX_JOBS} jobs exist at once (the oldest finished go first).
 *
 * <p>{@link Job#cancel()} ends a running job at once: queued blobs are dropped and nothing more
 * is started or pinned; blobs already being fetched finish for whoever else reads them (the job
 * lets go of its readers as they complete).
 */
public final class PrefetchJobs {
  private static final Logger log = LoggerFactory.getLogger(PrefetchJobs.class);
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Blobs one job fetches at a time (the upstream's {@code maxConnections} still applies). */
  public static final int BLOB_CONCURRENCY = 4;
  /** Finished jobs stay readable this long. */
  public static final long KEEP_FINISHED_MILLIS = 3_600_000;
  /** Jobs kept at most (running and finished). */
  public static final int MAX_JOBS = 200;
  /** Images per request, at most. */
  public static final int MAX_IMAGES = 1000;

  /** Lifecycle of a job. */
  public enum State {
    running,
    done,
    failed,
    cancelled
  }

  private final ImageResolver resolver;
  private final BlobService blobs;
  private final Pins pins;
  private final Executor executor;
  private final LongSupplier clock;
  private final Map<String, Job> jobs = new ConcurrentHashMap<>();

  public PrefetchJobs(ImageResolver resolver, BlobService blobs, Pins pins, Executor executor,
      LongSupplier clock) {
    this.resolver = resolver;
    this.blobs = blobs;
    this.pins = pins;
    this.executor = executor;
    this.clock = clock;
  }

  /** Starts a job; throws {@link IllegalStateException} when {@link #MAX_JOBS} are running. */
  public Job start(List<String> images, List<Platform> platforms, boolean pin) {
    prune();
    if (jobs.size() >= MAX_JOBS) {
      throw new IllegalStateException(MAX_JOBS + " prefetch jobs are running; try again later");
    }
    byte[] r = new byte[8];
    RANDOM.nextBytes(r);
    Job job = new Job(HexFormat.of().formatHex(r), images, platforms, pin, clock.getAsLong());
    jobs.put(job.id, job);
    log.info("prefetch {} started: {} images{}{}", job.id, images.size(),
        platforms.isEmpty() ? "" : ", platforms " + platforms, pin ? ", pinned" : "");
    executor.execute(job::run);
    return job;
  }

  public Optional<Job> get(String id) {
    prune();
    return Optional.ofNullable(jobs.get(id));
  }

  /** Resolves images and pins them without fetching; the pins written. */
  public CompletableFuture<List<Pins.Pin>> pin(List<String> images, List<Platform> platforms) {
    ImageResolver.Session session = resolver.session(platforms);
    List<CompletableFuture<ImageResolver.Resolved>> all = new ArrayList<>();
    for (String image : images) {
      all.add(session.resolve(image));
    }
    return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
        .thenApplyAsync(v -> {
          List<Pins.Pin> out = new ArrayList<>();
          for (CompletableFuture<ImageResolver.Resolved> f : all) {
            out.add(pinOf(f.join(), platforms));
          }
          out.forEach(pins::put);
          return out;
        }, executor);
  }

  private Pins.Pin pinOf(ImageResolver.Resolved r, List<Platform> platforms) {
    List<String> digests = new ArrayList<>();
    long bytes = 0;
    for (Map.Entry<Digest, Long> e : r.manifests().entrySet()) {
      digests.add(e.getKey().toString());
      bytes += Math.max(0, e.getValue());
    }
    for (Map.Entry<Digest, Long> e : r.blobs().entrySet()) {
      digests.add(e.getKey().toString());
      bytes += Math.max(0, e.getValue());
    }
    String reference = r.ref().reference().value();
    return new Pins.Pin(Pins.Pin.idOf(r.upstream(), r.repository().value(), reference),
        r.upstream(), r.repository().value(), reference,
        platforms.stream().map(Platform::toString).toList(), digests, bytes, clock.getAsLong());
  }

  private void prune() {
    long now = clock.getAsLong();
    jobs.values().removeIf(j -> j.finishedBefore(now - KEEP_FINISHED_MILLIS));
    if (jobs.size() >= MAX_JOBS) {
      jobs.values().stream().filter(j -> j.finishedBefore(Long.MAX_VALUE))
          .min(java.util.Comparator.comparingLong(j -> j.startedAt))
          .ifPresent(j -> jobs.remove(j.id));
    }
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** One blob to fetch and where from. */
  private record Wanted(Digest digest, long size, RegistryClient client, RepositoryName repo,
      String image) {}

  /** A prefetch job; its state is read with {@link #status()}. */
  public final class Job {
    private final String id;
    private final List<String> images;
    private final List<Platform> platforms;
    private final boolean pin;
    private final long startedAt;
    private State state = State.running;
    private long finishedAt = -1;
    private final List<String> errors = new ArrayList<>();
    private final Map<String, ImageStatus> resolved = new LinkedHashMap<>();
    private final ArrayDeque<Wanted> queue = new ArrayDeque<>();
    private final java.util.Set<Digest> queued = new java.util.HashSet<>();
    private final Map<Digest, BlobReader> active = new LinkedHashMap<>();
    private int blobsTotal;
    private int blobsDone;
    private long bytesTotal;
    private long bytesDone;
    private int running;

    Job(String id, List<String> images, List<Platform> platforms, boolean pin, long startedAt) {
      this.id = id;
      this.images = List.copyOf(images);
      this.platforms = List.copyOf(platforms);
      this.pin = pin;
      this.startedAt = startedAt;
    }

    public String id() {
      return id;
    }

    private synchronized boolean finishedBefore(long millis) {
      return state != State.running && finishedAt < millis;
    }

    private void run() {
      ImageResolver.Session session = resolver.session(platforms);
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (String image : images) {
        all.add(session.resolve(image)
            .handleAsync((r, err) -> {
              if (err != null) {
                error(image + ": " + unwrap(err).getMessage());
              } else {
                resolvedOne(image, r);
              }
              return null;
            }, executor));
      }
      CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
          .whenCompleteAsync((v, err) -> pump(), executor);
    }

    private void resolvedOne(String image, ImageResolver.Resolved r) {
      if (pin && !cancelled()) {
        try {
          pins.put(pinOf(r, platforms));
        } catch (RuntimeException e) {
          error(image + ": cannot pin: " + e.getMessage());
        }
      }
      synchronized (this) {
        long bytes = 0;
        for (Map.Entry<Digest, Long> e : r.blobs().entrySet()) {
          bytes += Math.max(0, e.getValue());
          if (state == State.running && queued.add(e.getKey())) {
            queue.add(new Wanted(e.getKey(), e.getValue(), r.client(), r.repository(), image));
            blobsTotal++;
            bytesTotal += Math.max(0, e.getValue());
          }
        }
        resolved.put(image, new ImageStatus(image, r.upstream(), r.repository().value(),
            r.ref().reference().value(), String.valueOf(r.digest()), r.manifests().size(),
            r.blobs().size(), bytes));
      }
    }


    /** Starts queued blobs up to the concurrency limit; finishes the job when nothing is left. */
    private void pump() {
      List<Wanted> start = new ArrayList<>();
      boolean finished = false;
      synchronized (this) {
        while (state == State.running && running < BLOB_CONCURRENCY && !queue.isEmpty()) {
          Wanted w = queue.poll();
          running++;
          start.add(w);
        }
        if (running == 0 && queue.isEmpty() && state == State.running) {
          state = errors.isEmpty() ? State.done : State.failed;
          finishedAt = clock.getAsLong();
          finished = true;
        }
      }
      if (finished) {
        log.info("prefetch {} {}: {} blobs, {} bytes{}", id, state, blobsDone, bytesDone,
            errors.isEmpty() ? "" : "; errors: " + errors);
      }
      for (Wanted w : start) {
        fetch(w);
      }
    }

    private void fetch(Wanted w) {
      CompletableFuture<BlobReader> opened;
      try {
        opened = blobs.open(w.client(), w.repo(), w.digest());
      } catch (RuntimeException e) {
        opened = CompletableFuture.failedFuture(e);
      }
      opened.thenCompose(reader -> {
            synchronized (this) {
              active.put(w.digest(), reader);
            }
            CompletableFuture<Long> done = new CompletableFuture<>();
            if (reader.source() == BlobReader.Source.PASSTHROUGH) {
              done.completeExceptionally(new IllegalStateException(
                  "no storage tier has room for it now"));
            } else {
              awaitComplete(reader, done);
            }
            return done.whenComplete((n, err) -> {
              synchronized (this) {
                active.remove(w.digest());
              }
              reader.close();
            });
          })
          .whenCompleteAsync((size, err) -> {
            synchronized (this) {
              running--;
              if (err == null) {
                blobsDone++;
                bytesDone += size;
                if (w.size() < 0) {
                  bytesTotal += size;
                }
              }
            }
            if (err != null) {
              error(w.image() + ": blob " + w.digest() + ": " + unwrap(err).getMessage());
            }
            pump();
          }, executor);
    }

    /** Completes {@code done} with the length once the reader's blob is verified and stored. */
    private void awaitComplete(BlobReader reader, CompletableFuture<Long> done) {
      if (reader.failure() != null) {
        done.completeExceptionally(reader.failure());
      } else if (reader.isComplete()) {
        // Verified; the job is done with the blob once it is also stored.
        reader.stored().whenComplete((isStored, err) -> {
          if (Boolean.TRUE.equals(isStored)) {
            done.complete(reader.length());
          } else {
            done.completeExceptionally(new IllegalStateException(
                "fetched and verified but not stored (see the log)"));
          }
        });
      } else {
        // The callback runs on the fetch's thread: hand off, never work (or throw) there.
        reader.whenReadableBeyond(reader.readable(), () -> {
          try {
            executor.execute(() -> awaitComplete(reader, done));
          } catch (java.util.concurrent.RejectedExecutionException e) {
            done.completeExceptionally(new IllegalStateException("Wharf is shutting down"));
          }
        });
      }
    }

    private synchronized boolean cancelled() {
      return state == State.cancelled;
    }

    /**
     * Cancels a running job: drops the blobs not yet started, starts and pins nothing more.
     * Returns false when the job had already finished.
     */
    public boolean cancel() {
      int dropped;
      synchronized (this) {
        if (state != State.running) {
          return false;
        }
        dropped = queue.size();
        for (Wanted w : queue) {
          blobsTotal--;
          bytesTotal -= Math.max(0, w.size());
        }
        queue.clear();
        state = State.cancelled;
        finishedAt = clock.getAsLong();
      }
      log.info("prefetch {} cancelled: {} blobs done, {} not started", id, blobsDone, dropped);
      return true;
    }

    private synchronized void error(String message) {
      if (errors.size() < 100) {
        errors.add(message);
      }
      log.warn("prefetch {}: {}", id, message);
    }

    /** A consistent snapshot of the job. */
    public synchronized Status status() {
      long inFlight = 0;
      for (BlobReader r : active.values()) {
        inFlight += Math.max(0, r.readable());
      }
      return new Status(id, state, images, platforms.stream().map(Platform::toString).toList(),
          pin, List.copyOf(resolved.values()), blobsDone, blobsTotal, bytesDone + inFlight,
          bytesTotal, List.copyOf(errors), startedAt, finishedAt < 0 ? null : finishedAt);
    }
  }

  /** What one image resolved to. */
  public record ImageStatus(String image, String upstream, String repository, String reference,
      String digest, int manifests, int blobs, long bytes) {}

  /** A job as {@code GET /admin/prefetch/<id>} shows it. */
  public record Status(String id, State state, List<String> images, List<String> platforms,
      boolean pin, List<ImageStatus> resolved, int blobsDone, int blobsTotal, long bytesDone,
      long bytesTotal, List<String> errors, long startedAt, Long finishedAt) {}
}
