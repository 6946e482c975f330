package io.wharf.core.upstream;

import io.wharf.core.upstream.UpstreamException.Kind;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;

/**
 * Collects a small response body into a {@code byte[]}, refusing anything over a limit: it cancels
 * the subscription (which closes the connection) as soon as the limit is passed, so a hostile or
 * broken upstream cannot make Wharf buffer without bound.
 */
final class BoundedBody implements HttpResponse.BodySubscriber<byte[]> {

  /** Largest manifest, token response or passthrough body Wharf accepts. */
  static final int MAX_SMALL_BODY = 4 * 1024 * 1024;

  private final int limit;
  private final long declaredLength;
  private final CompletableFuture<byte[]> result = new CompletableFuture<>();
  private Flow.Subscription subscription;
  private byte[] buf;
  private int size;

  private BoundedBody(int limit, long declaredLength) {
    this.limit = limit;
    this.declaredLength = declaredLength;
    this.buf = new byte[(int) Math.max(0, Math.min(declaredLength, Math.min(limit, 64 * 1024)))];
  }

  /** A body handler: bounded bytes for the statuses {@code wanted} accepts, body discarded otherwise. */
  static HttpResponse.BodyHandler<byte[]> handler(int limit, java.util.function.IntPredicate wanted) {
    return info -> {
      if (!wanted.test(info.statusCode())) {
        return HttpResponse.BodySubscribers.replacing(null);
      }
      long declared = info.headers().firstValueAsLong("content-length").orElse(-1);
      return new BoundedBody(limit, declared);
    };
  }

  @Override
  public CompletionStage<byte[]> getBody() {
    return result;
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    if (declaredLength > limit) {
      s.cancel();
      result.completeExceptionally(
          new UpstreamFailure(
              Kind.BAD_RESPONSE, "response body of " + declaredLength + " bytes is over the " + limit + " byte limit"));
      return;
    }
    s.request(Long.MAX_VALUE); // what arrives is counted and the stream cut at the limit
  }

  @Override
  public void onNext(List<ByteBuffer> items) {
    if (result.isDone()) {
      return;
    }
    for (ByteBuffer b : items) {
      int n = b.remaining();
      if ((long) size + n > limit) {
        subscription.cancel();
        buf = null;
        result.completeExceptionally(
            new UpstreamFailure(Kind.BAD_RESPONSE, "response body is over the " + limit + " byte limit"));
        return;
      }
      if (size + n > buf.length) {
        byte[] bigger = new byte[(int) Math.min(limit, Math.max((long) buf.length * 2, (long) size + n))];
        System.arraycopy(buf, 0, bigger, 0, size);
        buf = bigger;
      }
      b.get(buf, size, n);
      size += n;
    }
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(t);
  }

  @Override
  public void onComplete() {
    if (!result.isDone()) {
      result.complete(size == buf.length ? buf : java.util.Arrays.copyOf(buf, size));
    }
  }
}
