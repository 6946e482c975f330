package io.wharf.core.peer;

import io.wharf.core.config.PeerConfig;
import io.wharf.core.fetch.BlobRouting;
import io.wharf.core.fetch.BlobSource;
import io.wharf.core.metrics.WharfMeters;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.RegistryClient;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One logical cache over several Wharf instances.
 *
 * <h2>Blobs</h2>
 *
 * A blob that no local tier holds and no local fetch is bringing in is fetched from its owner:
 * the live peer that scores highest for the digest ({@link Rendezvous}). When that is this
 * instance, the fetch goes to the upstream as without peers; else it goes to the owner (then the
 * next owners, then the upstream: {@link PeerBlobSource}) through the same in-flight machinery,
 * so local clients join it and stream the bytes as they arrive, the digest is verified here
 * again, and the blob is kept by this instance's tier policy. The owner coalesces all peers'
 * requests into its one upstream fetch. A peer request carries {@link #HOP_HEADER}: the
 * receiving instance serves it from its store or its upstream and never forwards it, so a
 * request crosses at most one peer hop whatever the peers believe about each other.
 *
 * <h2>Manifests</h2>
 *
 * Manifests and tag resolution stay local, each instance with its own tag TTL: they are small,
 * one upstream request per tag per instance per TTL is what a single instance costs already, and
 * a tag must not be answered from a peer's possibly older resolution. Digest-addressed manifests
 * are cached per instance like before.
 *
 * <h2>Threads</h2>
 *
 * {@link #sourceFor} runs on the disk executor (a store miss); peer requests run on the HTTP
 * executor; DNS refresh and health checks on the scheduler. Nothing here blocks an event loop.
 */
public final class Peers implements BlobRouting, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Peers.class);

  /** Marks a request from a peer: serve it locally, never forward it. */
  public static final String HOP_HEADER = "Wharf-Peer-Hop";
  /** The shared peer token ({@code peers.token}). */
  public static final String TOKEN_HEADER = "Wharf-Peer-Token";
  /** The sending instance's random id: a request that comes back to its sender is a loop. */
  public static final String FROM_HEADER = "Wharf-Peer-From";

  private final PeerConfig config;
  private final PeerSet set;
  private final PeerHealth health;
  private final PeerClient client;
  private final WharfMeters meters;
  private final String instanceId;
  private final byte[] token;
  private final List<ScheduledFuture<?>> tasks = new ArrayList<>();

  Peers(PeerConfig config, int listenPort, String token, PeerSet.Resolver resolver,
      Executor executor, WharfMeters meters) {
    this.config = config;
    this.meters = meters;
    byte[] id = new byte[8];
    new SecureRandom().nextBytes(id);
    this.instanceId = HexFormat.of().formatHex(id);
    this.token = token == null ? null : token.getBytes(StandardCharsets.UTF_8);
    this.set = new PeerSet(config, listenPort, resolver);
    this.client = new PeerClient(config.connectTimeout(), config.timeout(), token, instanceId,
        executor);
    this.health = new PeerHealth(client::ready);
  }

  /**
   * Builds the peer set (resolving DNS now, on the caller's thread), then keeps it fresh and
   * health-checked on {@code scheduler}.
   */
  public static Peers start(PeerConfig config, int listenPort, String token, Executor executor,
      ScheduledExecutorService scheduler, WharfMeters meters) {
    Peers p = new Peers(config, listenPort, token, InetAddress::getAllByName, executor, meters);
    p.set.refresh();
    meters.peerGauges(() -> p.health.upCount(p.set.others()) + 1, () -> p.set.members().size());
    long every = config.healthInterval().toMillis();
    p.tasks.add(scheduler.scheduleWithFixedDelay(p::checkHealth, 0, every, TimeUnit.MILLISECONDS));
    if (config.dns() != null) {
      long refresh = config.refresh().toMillis();
      // DNS blocks: off the shared timer thread, which also schedules fetch retries.
      p.tasks.add(scheduler.scheduleWithFixedDelay(() -> executor.execute(() -> {
        try {
          p.set.refresh();
          p.health.retain(p.set.members());
        } catch (RuntimeException e) {
          log.warn("peers: refreshing {} failed: {}", config.dns(), e.toString());
        }
      }), refresh, refresh, TimeUnit.MILLISECONDS));
    }
    return p;
  }

  private void checkHealth() {
    try {
      health.check(set.others());
    } catch (RuntimeException e) {
      log.warn("peers: health check failed to start: {}", e.toString());
    }
  }

  @Override
  public BlobSource sourceFor(RegistryClient upstream, RepositoryName repo, Digest digest) {
    List<Peer> live = new ArrayList<>();
    for (Peer p : set.members()) {
      if (set.isSelf(p) || health.isUp(p)) {
        live.add(p);
      }
    }
    List<Peer> owners = new ArrayList<>();
    for (Peer p : Rendezvous.order(digest, live)) {
      if (set.isSelf(p)) {
        break;
      }
      owners.add(p);
    }
    return owners.isEmpty() ? null : new PeerBlobSource(this, List.copyOf(owners), upstream);
  }

  /** Whether a request may go to {@code p} now. */
  boolean usable(Peer p) {
    return !set.isSelf(p) && health.isUp(p);
  }

  /**
   * Whether a request claiming to come from a peer may be served: the token matches (when one is
   * configured). Constant-time comparison.
   */
  public boolean admits(String presentedToken) {
    if (token == null) {
      return true;
    }
    return presentedToken != null
        && MessageDigest.isEqual(token, presentedToken.getBytes(StandardCharsets.UTF_8));
  }

  /** Whether peer requests must carry the shared token. */
  public boolean requiresToken() {
    return token != null;
  }

  /** This process's random id, sent in {@link #FROM_HEADER}. */
  public String instanceId() {
    return instanceId;
  }

  public PeerSet set() {
    return set;
  }

  public PeerHealth health() {
    return health;
  }

  PeerClient client() {
    return client;
  }

  WharfMeters meters() {
    return meters;
  }

  public PeerConfig config() {
    return config;
  }

  @Override
  public void close() {
    tasks.forEach(t -> t.cancel(false));
  }
}
