package io.wharf.core.peer;

import io.wharf.core.fetch.BlobSource;
import io.wharf.core.oci.Digest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.BlobStream;
import io.wharf.core.upstream.RegistryClient;
import io.wharf.core.upstream.UpstreamException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Flow;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A blob fetch that asks the digest's owners first: the peers that score higher than this
 * instance for the digest, best first, then the upstream itself. A peer that is down is skipped;
 * one that fails at the transport level (refused, timed out, reset, stalled body) is marked down
 * and the next is asked; a 5xx moves on without marking it down (its upstream may be what
 * failed). A 404 or 429 from an owner is the upstream's answer relayed, so it is final: asking
 * the upstream again would only repeat it. Every call — a resume too — walks the list from the
 * start, skipping peers marked down meanwhile.
 */
final class PeerBlobSource implements BlobSource {
  private static final Logger log = LoggerFactory.getLogger(PeerBlobSource.class);

  private final Peers peers;
  private final List<Peer> owners;
  private final RegistryClient upstream;

  PeerBlobSource(Peers peers, List<Peer> owners, RegistryClient upstream) {
    this.peers = peers;
    this.owners = owners;
    this.upstream = upstream;
  }

  @Override
  public String upstream() {
    return upstream.config().name();
  }

  @Override
  public int retries() {
    return upstream.config().retries();
  }

  @Override
  public boolean cancelWhenAbandoned() {
    return upstream.config().cancelWhenAbandoned();
  }

  @Override
  public CompletableFuture<BlobStream> getBlob(RepositoryName repo, Digest digest, long offset) {
    return attempt(0, repo, digest, offset);
  }

  private CompletableFuture<BlobStream> attempt(int from, RepositoryName repo, Digest digest,
      long offset) {
    int i = from;
    while (i < owners.size() && !peers.usable(owners.get(i))) {
      i++;
    }
    if (i == owners.size()) {
      if (!owners.isEmpty()) {
        peers.meters().peerRequest("upstream_fallback");
      }
      return upstream.getBlob(repo, digest, offset);
    }
    Peer peer = owners.get(i);
    int next = i + 1;
    return peers.client().getBlob(peer, upstream(), repo, digest, offset)
        .handle((stream, err) -> {
          if (err == null) {
            peers.meters().peerRequest("ok");
            return CompletableFuture.completedFuture(
                new BlobStream(stream.startOffset(), stream.totalLength(),
                    new Observed(stream.body(), peer)));
          }
          PeerClient.PeerException f = unwrap(err);
          peers.meters().peerRequest(f.result);
          switch (f.result) {
            case "not_found":
              return CompletableFuture.<BlobStream>failedFuture(new UpstreamException(
                  UpstreamException.Kind.NOT_FOUND, upstream(), ErrorCode.BLOB_UNKNOWN, 404,
                  "fetch blob " + repo + "@" + digest + " through " + f.getMessage(), f, -1));
            case "rate_limited":
              return CompletableFuture.<BlobStream>failedFuture(new UpstreamException(
                  UpstreamException.Kind.RATE_LIMITED, upstream(), ErrorCode.TOOMANYREQUESTS, 429,
                  "fetch blob " + repo + "@" + digest + " through " + f.getMessage(), f,
                  f.retryAfterSeconds));
            case "loop":
              peers.set().alias(peer);
              break;
            case "refused":
              log.error("{}: the peers' tokens differ (peers.token); asking the next owner",
                  f.getMessage());
              break;
            default:
              if (f.peerDown()) {
                peers.health().markDown(peer, f.getMessage());
              } else {
                log.warn("{}; asking the next owner", f.getMessage());
              }
          }
          return attempt(next, repo, digest, offset);
        })
        .thenCompose(Function.identity());
  }

  private static PeerClient.PeerException unwrap(Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t instanceof PeerClient.PeerException p ? p
        : new PeerClient.PeerException("error", 0, String.valueOf(t), t, -1);
  }

  /** A peer's body: if it breaks, the peer is marked down so the resume asks the next owner. */
  private final class Observed implements Flow.Publisher<List<ByteBuffer>> {
    private final Flow.Publisher<List<ByteBuffer>> body;
    private final Peer peer;

    Observed(Flow.Publisher<List<ByteBuffer>> body, Peer peer) {
      this.body = body;
      this.peer = peer;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> s) {
      body.subscribe(new Flow.Subscriber<List<ByteBuffer>>() {
        @Override
        public void onSubscribe(Flow.Subscription sub) {
          s.onSubscribe(sub);
        }

        @Override
        public void onNext(List<ByteBuffer> item) {
          s.onNext(item);
        }

        @Override
        public void onError(Throwable t) {
          peers.meters().peerRequest("body_error");
          peers.health().markDown(peer, "blob body broke: " + t.getMessage());
          s.onError(t);
        }

        @Override
        public void onComplete() {
          s.onComplete();
        }
      });
    }
  }
}
