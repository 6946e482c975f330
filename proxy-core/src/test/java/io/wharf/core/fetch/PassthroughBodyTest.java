package io.wharf.core.fetch;

import static org.assertj.core.api.Assertions.assertThat;

import io.wharf.core.oci.Digest;
import io.wharf.core.oci.RegistryException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The uncached passthrough body: hold-back of the newest item, verification, demand, ending. */
class PassthroughBodyTest {

  /** An upstream body driven by hand: counts demand and cancels, sends what the test says. */
  static final class FakeUpstream implements Flow.Publisher<List<ByteBuffer>> {
    Flow.Subscriber<? super List<ByteBuffer>> subscriber;
    long requested;
    int cancels;
    int subscriptions;

    @Override
    public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> s) {
      subscriptions++;
      subscriber = s;
      s.onSubscribe(new Flow.Subscription() {
        @Override
        public void request(long n) {
          requested += n;
        }

        @Override
        public void cancel() {
          cancels++;
        }
      });
    }

    void send(byte[] b, int from, int to) {
      requested--;
      subscriber.onNext(List.of(ByteBuffer.wrap(b, from, to - from).slice()));
    }
  }

  /** A subscriber that requests by hand and records everything. */
  static final class Recorder implements Flow.Subscriber<List<ByteBuffer>> {
    Flow.Subscription subscription;
    final java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    final List<Integer> items = new ArrayList<>();
    Throwable error;
    boolean complete;

    @Override
    public void onSubscribe(Flow.Subscription s) {
      subscription = s;
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
      int n = 0;
      for (ByteBuffer b : item) {
        byte[] a = new byte[b.remaining()];
        b.duplicate().get(a);
        bytes.writeBytes(a);
        n += a.length;
      }
      items.add(n);
    }

    @Override
    public void onError(Throwable t) {
      error = t;
    }

    @Override
    public void onComplete() {
      complete = true;
    }
  }

  private static byte[] blob(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + 7);
    }
    return b;
  }

  private final List<String> ends = new ArrayList<>();

  private PassthroughBody body(FakeUpstream up, Digest d, long length) {
    return new PassthroughBody("fetch blob x", d, length, up, ends::add);
  }

  @Test
  void subscribe_rightBytes_newestItemHeldBackUntilVerified_thenAllDelivered() {
    byte[] b = blob(300);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), 300).subscribe(r);
    assertThat(up.requested).as("no demand from the client, none upstream").isZero();
    r.subscription.request(1);
    assertThat(up.requested).isEqualTo(1);
    up.send(b, 0, 100);
    assertThat(r.items).as("the newest item may be the last: held back").isEmpty();
    assertThat(up.requested).as("one more is fetched to release the held one").isEqualTo(1);
    up.send(b, 100, 200);
    assertThat(r.items).containsExactly(100);
    assertThat(up.requested).as("client demand used up: nothing asked upstream").isZero();
    r.subscription.request(1);
    up.send(b, 200, 300);
    assertThat(r.items).containsExactly(100, 100);
    r.subscription.request(1);
    assertThat(r.items).as("final item still held: body not ended").hasSize(2);
    up.subscriber.onComplete();
    assertThat(r.items).containsExactly(100, 100, 100);
    assertThat(r.complete).isTrue();
    assertThat(r.error).isNull();
    assertThat(r.bytes.toByteArray()).isEqualTo(b);
    assertThat(ends).containsExactly("ok");
  }

  @Test
  void subscribe_digestMismatch_finalItemNeverDelivered_errorInstead() {
    byte[] b = blob(300);
    byte[] wrong = b.clone();
    wrong[250] ^= 1;
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), 300).subscribe(r);
    r.subscription.request(10);
    up.send(wrong, 0, 150);
    up.send(wrong, 150, 300);
    up.subscriber.onComplete();
    assertThat(r.bytes.size()).as("cut before the final item").isEqualTo(150);
    assertThat(r.complete).isFalse();
    assertThat(r.error).isInstanceOf(RegistryException.class).hasMessageContaining("digest mismatch");
    assertThat(ends).containsExactly("digest_mismatch");
  }

  @Test
  void subscribe_moreBytesThanLength_errorAndUpstreamCancelled() {
    byte[] b = blob(300);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), 200).subscribe(r);
    r.subscription.request(10);
    up.send(b, 0, 150);
    up.send(b, 150, 300);
    assertThat(r.error).hasMessageContaining("more than the blob's 200 bytes");
    assertThat(r.bytes.size()).isZero();
    assertThat(up.cancels).isEqualTo(1);
    assertThat(ends).containsExactly("digest_mismatch");
  }

  @Test
  void subscribe_bodyEndsShort_errorNoFinalItem() {
    byte[] b = blob(300);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), 300).subscribe(r);
    r.subscription.request(10);
    up.send(b, 0, 100);
    up.send(b, 100, 200);
    up.subscriber.onComplete();
    assertThat(r.bytes.size()).isEqualTo(100);
    assertThat(r.error).hasMessageContaining("ended after 200 of 300 bytes");
    assertThat(ends).containsExactly("upstream_error");
  }

  @Test
  void subscribe_unknownLengthAndEmptyBlob_verifiedAndComplete() {
    byte[] b = blob(50);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), -1).subscribe(r);
    r.subscription.request(1);
    up.send(b, 0, 50);
    up.subscriber.onComplete();
    assertThat(r.bytes.toByteArray()).isEqualTo(b);
    assertThat(r.complete).isTrue();

    FakeUpstream empty = new FakeUpstream();
    Recorder r2 = new Recorder();
    body(empty, Digest.sha256Of(new byte[0]), 0).subscribe(r2);
    empty.subscriber.onComplete();
    assertThat(r2.complete).isTrue();
    assertThat(ends).containsExactly("ok", "ok");
  }

  @Test
  void upstreamError_passedOn_heldItemDropped() {
    byte[] b = blob(300);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), 300).subscribe(r);
    r.subscription.request(10);
    up.send(b, 0, 100);
    up.subscriber.onError(new java.io.IOException("reset"));
    assertThat(r.bytes.size()).isZero();
    assertThat(r.error).isInstanceOf(RegistryException.class).hasMessageContaining("reset");
    assertThat(ends).containsExactly("upstream_error");
  }

  @Test
  void close_beforeSubscribe_cancelsUpstream_endsOnce() {
    FakeUpstream up = new FakeUpstream();
    PassthroughBody p = body(up, Digest.sha256Of(new byte[] {1}), 1);
    p.close();
    p.close();
    assertThat(up.subscriptions).isEqualTo(1);
    assertThat(up.cancels).isEqualTo(1);
    assertThat(ends).containsExactly("cancelled");
    Recorder late = new Recorder();
    p.subscribe(late);
    assertThat(late.error).as("a closed body cannot be read").isInstanceOf(IllegalStateException.class);
  }

  @Test
  void close_whileStreaming_cancelsUpstream_noMoreSignals() {
    byte[] b = blob(300);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    PassthroughBody p = body(up, Digest.sha256Of(b), 300);
    p.subscribe(r);
    r.subscription.request(10);
    up.send(b, 0, 100);
    p.close();
    assertThat(up.cancels).isEqualTo(1);
    up.send(b, 100, 300);
    up.subscriber.onComplete();
    assertThat(r.bytes.size()).isZero();
    assertThat(r.complete).isFalse();
    assertThat(ends).containsExactly("cancelled");
  }

  @Test
  void demand_neverMoreThanOneUpstreamItemAhead_howeverMuchTheClientAsks() {
    byte[] b = blob(10_000);
    FakeUpstream up = new FakeUpstream();
    Recorder r = new Recorder();
    body(up, Digest.sha256Of(b), b.length).subscribe(r);
    AtomicInteger maxOutstanding = new AtomicInteger();
    r.subscription.request(Long.MAX_VALUE);
    for (int pos = 0; pos < b.length; pos += 100) {
      maxOutstanding.accumulateAndGet((int) up.requested, Math::max);
      up.send(b, pos, pos + 100);
    }
    up.subscriber.onComplete();
    assertThat(maxOutstanding).hasValue(1);
    assertThat(r.bytes.toByteArray()).isEqualTo(b);
  }

  /** A resumer that hands out the given upstreams in turn and records what it was asked. */
  static final class ScriptedResumer implements PassthroughBody.Resumer {
    final List<Long> offsets = new ArrayList<>();
    final java.util.ArrayDeque<io.wharf.core.upstream.BlobStream> next =
        new java.util.ArrayDeque<>();

    @Override
    public java.util.concurrent.CompletableFuture<io.wharf.core.upstream.BlobStream> resume(
        long offset, Throwable cause) {
      offsets.add(offset);
      return java.util.concurrent.CompletableFuture.completedFuture(next.poll());
    }
  }

  private PassthroughBody body(FakeUpstream up, Digest d, long length, ScriptedResumer resumer) {
    return new PassthroughBody("fetch blob x", d, length, up, resumer, ends::add);
  }

  @Test
  void upstreamReset_resumedFromBytesReceived_clientGetsEveryByteOnce() {
    byte[] b = blob(300);
    FakeUpstream first = new FakeUpstream();
    FakeUpstream second = new FakeUpstream();
    ScriptedResumer resumer = new ScriptedResumer();
    resumer.next.add(new io.wharf.core.upstream.BlobStream(120, 300, second));
    Recorder r = new Recorder();
    body(first, Digest.sha256Of(b), 300, resumer).subscribe(r);
    r.subscription.request(10);
    first.send(b, 0, 100);
    first.send(b, 100, 120);
    first.subscriber.onError(new java.io.IOException("connection reset"));
    assertThat(resumer.offsets).containsExactly(120L);
    assertThat(r.error).as("a pause, not an error").isNull();
    assertThat(second.requested).as("the new body is read on").isEqualTo(1);
    second.send(b, 120, 300);
    second.subscriber.onComplete();
    assertThat(r.error).isNull();
    assertThat(r.complete).isTrue();
    assertThat(r.bytes.toByteArray()).isEqualTo(b);
    assertThat(ends).containsExactly("ok");
  }

  @Test
  void resumeIgnoresRange_bytesAlreadyReceivedDropped_notSentTwice() {
    byte[] b = blob(300);
    FakeUpstream first = new FakeUpstream();
    FakeUpstream whole = new FakeUpstream();
    ScriptedResumer resumer = new ScriptedResumer();
    resumer.next.add(new io.wharf.core.upstream.BlobStream(0, 300, whole));
    Recorder r = new Recorder();
    body(first, Digest.sha256Of(b), 300, resumer).subscribe(r);
    r.subscription.request(100);
    first.send(b, 0, 150);
    first.subscriber.onComplete(); // a clean end short of the length: a break too
    assertThat(resumer.offsets).containsExactly(150L);
    whole.send(b, 0, 100);
    whole.send(b, 100, 200);
    whole.send(b, 200, 300);
    whole.subscriber.onComplete();
    assertThat(r.error).isNull();
    assertThat(r.bytes.toByteArray()).isEqualTo(b);
    assertThat(ends).containsExactly("ok");
  }

  @Test
  void resetsPastTheBudget_errorBeforeTheFinalBytes() {
    byte[] b = blob(300);
    FakeUpstream first = new FakeUpstream();
    FakeUpstream second = new FakeUpstream();
    ScriptedResumer resumer = new ScriptedResumer();
    resumer.next.add(new io.wharf.core.upstream.BlobStream(100, 300, second));
    Recorder r = new Recorder();
    body(first, Digest.sha256Of(b), 300, resumer).subscribe(r);
    r.subscription.request(10);
    first.send(b, 0, 100);
    first.subscriber.onError(new java.io.IOException("reset 1"));
    second.send(b, 100, 200);
    second.subscriber.onError(new java.io.IOException("reset 2"));
    assertThat(resumer.offsets).containsExactly(100L, 200L);
    assertThat(r.error).hasMessageContaining("reset 2");
    assertThat(r.bytes.size()).as("held-back bytes never released").isEqualTo(100);
    assertThat(r.complete).isFalse();
    assertThat(ends).containsExactly("upstream_error");
  }

  @Test
  void resumeWithAnotherLength_failsAndDiscardsIt() {
    byte[] b = blob(300);
    FakeUpstream first = new FakeUpstream();
    FakeUpstream other = new FakeUpstream();
    ScriptedResumer resumer = new ScriptedResumer();
    resumer.next.add(new io.wharf.core.upstream.BlobStream(100, 999, other));
    Recorder r = new Recorder();
    body(first, Digest.sha256Of(b), 300, resumer).subscribe(r);
    r.subscription.request(10);
    first.send(b, 0, 100);
    first.subscriber.onError(new java.io.IOException("reset"));
    assertThat(r.error).hasMessageContaining("changed the blob's length");
    assertThat(other.cancels).as("the wrong body is discarded").isEqualTo(1);
    assertThat(ends).containsExactly("upstream_error");
  }

  @Test
  void closedWhileResuming_newBodyDiscarded() {
    byte[] b = blob(300);
    FakeUpstream first = new FakeUpstream();
    FakeUpstream second = new FakeUpstream();
    java.util.concurrent.CompletableFuture<io.wharf.core.upstream.BlobStream> pending =
        new java.util.concurrent.CompletableFuture<>();
    PassthroughBody p = new PassthroughBody("fetch blob x", Digest.sha256Of(b), 300, first,
        (offset, cause) -> pending, ends::add);
    Recorder r = new Recorder();
    p.subscribe(r);
    r.subscription.request(10);
    first.send(b, 0, 100);
    first.subscriber.onError(new java.io.IOException("reset"));
    p.close();
    assertThat(ends).containsExactly("cancelled");
    pending.complete(new io.wharf.core.upstream.BlobStream(100, 300, second));
    assertThat(second.cancels).isEqualTo(1);
    assertThat(r.error).isNull();
    assertThat(r.complete).isFalse();
  }
}
