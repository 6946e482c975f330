package io.wharf.server;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.wharf.core.config.WharfConfig;
import io.wharf.core.fetch.BlobService;
import io.wharf.core.manifest.ManifestService;
import io.wharf.core.manifest.ReferrersCache;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.upstream.UpstreamRouter;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What every connection's handler needs: core services, meters and the server's lifecycle state.
 * One per server; shared by all channels.
 */
public final class Services {
  /** User event: the server is shutting down; close once idle. */
  public static final Object DRAIN = new Object() {
    @Override
    public String toString() {
      return "DRAIN";
    }
  };

  final WharfConfig config;
  final UpstreamRouter router;
  final BlobService blobs;
  final ManifestService manifests;
  final ReferrersCache referrers;
  final WharfMeters meters;
  final PrometheusMeterRegistry prometheus;
  final java.util.concurrent.Executor diskExecutor;
  final io.wharf.core.access.AccessControl access;
  /** Set once at start when peers are configured, before the server is ready. */
  volatile io.wharf.core.peer.Peers peers;
  final io.wharf.core.access.RepositoryAuthorization repositories;
  final ClientLimits limits;
  final AtomicBoolean ready = new AtomicBoolean();
  final AtomicBoolean draining = new AtomicBoolean();
  final AtomicInteger activeResponses = new AtomicInteger();

  Services(
      WharfConfig config,
      UpstreamRouter router,
      BlobService blobs,
      ManifestService manifests,
      ReferrersCache referrers,
      WharfMeters meters,
      PrometheusMeterRegistry prometheus,
      java.util.concurrent.Executor diskExecutor,
      io.wharf.core.access.RepositoryAuthorization repositories) {
    this.config = config;
    this.router = router;
    this.blobs = blobs;
    this.manifests = manifests;
    this.referrers = referrers;
    this.meters = meters;
    this.prometheus = prometheus;
    this.diskExecutor = diskExecutor;
    this.access = new io.wharf.core.access.AccessControl(config.upstreams(), AUTH_EXECUTOR,
        new io.wharf.core.access.BearerTokens(config.server().tokens().resolveKey(System.getenv()),
            config.server().tokens().ttl(), System::currentTimeMillis),
        new io.wharf.core.access.PassThroughAuthorization(config.upstreams(), meters, diskExecutor,
            com.github.benmanes.caffeine.cache.Ticker.systemTicker()));
    this.repositories = repositories;
    this.limits = new ClientLimits(config.server(), System::nanoTime);
  }

  /**
   * bcrypt checks get their own few threads and a short queue: a flood of wrong passwords then
   * waits for (or is refused by) these alone, never the disk threads every pull depends on.
   * Daemon threads that time out when idle, shared by the instances of one JVM.
   */
  private static final java.util.concurrent.ThreadPoolExecutor AUTH_EXECUTOR = authPool();

  private static java.util.concurrent.ThreadPoolExecutor authPool() {
    int n = Math.max(2, Runtime.getRuntime().availableProcessors());
    var p = new java.util.concurrent.ThreadPoolExecutor(n, n, 30,
        java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.ArrayBlockingQueue<>(256),
        new io.netty.util.concurrent.DefaultThreadFactory("wharf-auth", true));
    p.allowCoreThreadTimeOut(true);
    return p;
  }

  /** Per-client request rate and (keyed by identity) connection limits. */
  public ClientLimits limits() {
    return limits;
  }

  /** Which repository may be served which cached content (links and upstream confirmations). */
  public io.wharf.core.access.RepositoryAuthorization repositories() {
    return repositories;
  }

  /** Who may pull through which upstream. */
  public io.wharf.core.access.AccessControl access() {
    return access;
  }

  /** Bounded executor for blocking file I/O (never an event loop). */
  public java.util.concurrent.Executor diskExecutor() {
    return diskExecutor;
  }

  public WharfConfig config() {
    return config;
  }

  public UpstreamRouter router() {
    return router;
  }

  public BlobService blobs() {
    return blobs;
  }

  public ManifestService manifests() {
    return manifests;
  }

  public ReferrersCache referrers() {
    return referrers;
  }

  public WharfMeters meters() {
    return meters;
  }

  public PrometheusMeterRegistry prometheus() {
    return prometheus;
  }

  /** The peer set, or null when this instance has no peers. */
  public io.wharf.core.peer.Peers peers() {
    return peers;
  }

  public boolean isReady() {
    return ready.get();
  }

  public boolean isDraining() {
    return draining.get();
  }

  public int activeResponses() {
    return activeResponses.get();
  }

  /** Called by handlers when a response starts. */
  public void responseStarted() {
    activeResponses.incrementAndGet();
  }

  /** Called by handlers when a response ended (sent or aborted). */
  public void responseEnded() {
    synchronized (activeResponses) {
      if (activeResponses.decrementAndGet() == 0) {
        activeResponses.notifyAll();
      }
    }
  }

  /** Waits (off any event loop) until no response is in progress or {@code millis} pass. */
  boolean awaitIdle(long millis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + millis;
    synchronized (activeResponses) {
      while (activeResponses.get() > 0) {
        long left = deadline - System.currentTimeMillis();
        if (left <= 0) {
          return false;
        }
        activeResponses.wait(left);
      }
    }
    return true;
  }
}
