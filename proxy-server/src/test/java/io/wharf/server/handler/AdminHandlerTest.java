package io.wharf.server.handler;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The admin API's exposure rules, without sockets. */
class AdminHandlerTest {

  static FullHttpResponse send(AdminHandler h, HttpMethod method, String uri, String auth) {
    EmbeddedChannel ch = new EmbeddedChannel(h);
    DefaultFullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, method, uri,
        Unpooled.copiedBuffer("{}", StandardCharsets.UTF_8));
    if (auth != null) {
      req.headers().set("Authorization", auth);
    }
    ch.writeInbound(req);
    FullHttpResponse r = ch.readOutbound();
    ch.finishAndReleaseAll();
    return r;
  }

  @Test
  void nonLoopbackListenerWithoutToken_refusesAdminApi() {
    AdminHandler h = new AdminHandler(null, null, new AdminApi(null, null), false);
    FullHttpResponse r = send(h, HttpMethod.POST, "/admin/gc", null);
    try {
      assertThat(r.status().code()).isEqualTo(403);
      assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("admin.token");
    } finally {
      r.release();
    }
  }

  @Test
  void tokenConfigured_wrongOrMissingToken_is401_evenOnLoopback() {
    AdminHandler h = new AdminHandler(null, "s3cret", new AdminApi(null, null), true);
    for (String auth : new String[] {null, "Bearer nope", "Basic czNjcmV0", "Bearer s3cret "}) {
      FullHttpResponse r = send(h, HttpMethod.DELETE, "/admin/cache/blobs/sha256:00", auth);
      try {
        assertThat(r.status().code()).as(String.valueOf(auth)).isEqualTo(401);
        assertThat(r.content().toString(StandardCharsets.UTF_8)).doesNotContain("s3cret");
      } finally {
        r.release();
      }
    }
  }
}
