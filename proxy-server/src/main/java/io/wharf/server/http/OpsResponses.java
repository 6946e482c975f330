package io.wharf.server.http;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.wharf.server.Services;
import java.nio.charset.StandardCharsets;

/** {@code /metrics}, {@code /healthz} and {@code /readyz}, for the registry and admin listeners. */
public final class OpsResponses {
  private OpsResponses() {}

  public static FullHttpResponse metrics(Services services, boolean head) {
    byte[] body = services.prometheus().scrape().getBytes(StandardCharsets.UTF_8);
    return text(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8", body, head);
  }

  /** Liveness always 200; readiness 200 once listening and until shutdown begins, else 503. */
  public static FullHttpResponse health(Services services, boolean readiness, boolean head) {
    boolean ok = !readiness || (services.isReady() && !services.isDraining());
    byte[] body = (ok ? "ok\n" : "not ready\n").getBytes(StandardCharsets.UTF_8);
    return text(ok ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8", body, head);
  }

  private static FullHttpResponse text(HttpResponseStatus status, String type, byte[] body,
      boolean head) {
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, type).set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    return r;
  }
}
