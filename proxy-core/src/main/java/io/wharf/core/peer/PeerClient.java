package io.wharf.core.peer;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RepositoryName;
import io.wharf.core.upstream.BlobStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Requests to peers over the OCI HTTP API, on the JDK client: a blob GET marked as a peer hop
 * (the owner serves it from its store or its upstream, never forwards it) and the readiness probe.
 * Fails with {@link PeerException}.
 */
final class PeerClient {
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes\\s+(\\d+)-\\d+/(\\d+|\\*)");

  private final HttpClient http;
  private final Duration connectTimeout;
  private final Duration timeout;
  private final String token;
  private final String from;
  private final Executor executor;

  PeerClient(Duration connectTimeout, Duration timeout, String token, String from,
      Executor executor) {
    this.http = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(connectTimeout)
        .proxy(HttpClient.Builder.NO_PROXY)
        .executor(executor)
        .build();
    this.connectTimeout = connectTimeout;
    this.timeout = timeout;
    this.token = token;
    this.from = from;
    this.executor = executor;
  }

  /** Why a peer request failed. {@code result} is the meter outcome. */
  static final class PeerException extends Exception {
    final String result;
    final int status;
    final long retryAfterSeconds;

    PeerException(String result, int status, String message, Throwable cause, long retryAfter) {
      super(message, cause);
      this.result = result;
      this.status = status;
      this.retryAfterSeconds = retryAfter;
    }

    /** The peer itself is in trouble (not answering, or its answer broke), not its upstream. */
    boolean peerDown() {
      return result.equals("unreachable") || result.equals("timeout");
    }
  }

  /** GETs {@code digest} from {@code peer} for upstream {@code ns}, from {@code offset}. */
  CompletableFuture<BlobStream> getBlob(Peer peer, String ns, RepositoryName repo, Digest digest,
      long offset) {
    URI uri = URI.create(peer.base() + "/v2/" + repo.value() + "/blobs/" + digest + "?ns=" + ns);
    HttpRequest.Builder b = request(uri, timeout);
    if (offset > 0) {
      b.header("Range", "bytes=" + offset + "-");
    }
    String what = "peer " + peer + ": GET blob " + digest;
    return http.sendAsync(b.build(), info -> info.statusCode() / 100 == 2
            ? HttpResponse.BodySubscribers.ofPublisher()
            : HttpResponse.BodySubscribers.replacing(null))
        .handle((resp, err) -> {
          if (err != null) {
            throw new CompletionException(transportFailure(what, err));
          }
          int s = resp.statusCode();
          if (s / 100 != 2) {
            long retryAfter = resp.headers().firstValueAsLong("retry-after").orElse(-1);
            throw new CompletionException(statusFailure(what, s, retryAfter));
          }
          return stream(what, resp, offset);
        });
  }

  private BlobStream stream(String what, HttpResponse<Flow.Publisher<List<ByteBuffer>>> resp,
      long offset) {
    long start = 0;
    long total = resp.headers().firstValueAsLong("content-length").orElse(-1);
    if (resp.statusCode() == 206) {
      Matcher m = CONTENT_RANGE.matcher(resp.headers().firstValue("content-range").orElse(""));
      if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
        resp.body().subscribe(BlobStream.CANCELLING);
        throw new CompletionException(new PeerException("error", 206, what
            + ": 206 with a Content-Range that does not start at " + offset, null, -1));
      }
      start = offset;
      total = m.group(2).equals("*") ? -1 : Long.parseLong(m.group(2));
    }
    return new BlobStream(start, total, BlobStream.watched(resp.body(), timeout, executor,
        () -> new PeerException("timeout", 0, what + ": no body bytes for " + timeout.toMillis()
            + " ms (stalled)", null, -1), () -> { }));
  }

  /** Whether {@code peer} answers {@code /readyz} with 200 within the connect timeout. */
  CompletableFuture<Boolean> ready(Peer peer) {
    Duration t = connectTimeout.compareTo(Duration.ofSeconds(2)) < 0 ? Duration.ofSeconds(2)
        : connectTimeout;
    return http.sendAsync(request(URI.create(peer.base() + "/readyz"), t).build(),
            HttpResponse.BodyHandlers.discarding())
        .handle((resp, err) -> err == null && resp.statusCode() == 200);
  }

  private HttpRequest.Builder request(URI uri, Duration t) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().timeout(t)
        .header(Peers.HOP_HEADER, "1")
        .header(Peers.FROM_HEADER, from);
    if (token != null) {
      b.header(Peers.TOKEN_HEADER, token);
    }
    return b;
  }

  private static PeerException transportFailure(String what, Throwable err) {
    Throwable t = err;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    if (t instanceof HttpTimeoutException) {
      return new PeerException("timeout", 0, what + ": timed out (" + why + ")", t, -1);
    }
    if (t instanceof ConnectException || t instanceof IOException) {
      return new PeerException("unreachable", 0, what + ": " + why, t, -1);
    }
    return new PeerException("error", 0, what + ": " + why, t, -1);
  }

  private static PeerException statusFailure(String what, int s, long retryAfter) {
    String result = switch (s) {
      case 404 -> "not_found";
      case 401, 403 -> "refused";
      case 429 -> "rate_limited";
      case 508 -> "loop";
      default -> "error";
    };
    return new PeerException(result, s, what + ": peer answered " + s, null, retryAfter);
  }
}
