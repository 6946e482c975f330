package io.wharf.server.handler;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpUtil;
import io.wharf.core.oci.ErrorCode;
import io.wharf.server.Services;
import io.wharf.server.http.OciErrors;
import io.wharf.server.http.OpsResponses;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin listener: health probes open; {@code /metrics} and the admin API ({@code /admin/*},
 * see {@link AdminApi}) behind the admin token when one is configured. Without a token the admin
 * API is served only when the listener is on a loopback address (else 403): cache purges and
 * pins are never open to the network. Stateless, so one instance serves every admin connection.
 */
@ChannelHandler.Sharable
public final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);

  private final Services services;
  private final byte[] token;
  private final AdminApi api;
  private final boolean loopback;

  public AdminHandler(Services services, String token) {
    this(services, token, null, true);
  }

  /**
   * @param api the admin API, or null for none
   * @param loopback whether the listener is bound to a loopback address only
   */
  public AdminHandler(Services services, String token, AdminApi api, boolean loopback) {
    this.services = services;
    this.token = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
    this.api = api;
    this.loopback = loopback;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean head = req.method().equals(HttpMethod.HEAD);
    String path = req.uri().split("\\?", 2)[0];
    if (path.startsWith("/admin/") && api != null) {
      admin(ctx, req, path);
      return;
    }
    FullHttpResponse r;
    if (!req.method().equals(HttpMethod.GET) && !head) {
      r = OciErrors.response(ErrorCode.UNSUPPORTED, 405, req.method() + " is not supported", head);
    } else if (path.equals("/healthz") || path.equals("/readyz")) {
      r = OpsResponses.health(services, path.equals("/readyz"), head);
    } else if (!authorized(req)) {
      log.info("admin request {} from {} without a valid token", path, ctx.channel().remoteAddress());
      r = OciErrors.response(ErrorCode.UNAUTHORIZED, 401, "admin token required", head);
      r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"wharf admin\"");
    } else if (path.equals("/metrics")) {
      r = OpsResponses.metrics(services, head);
    } else {
      r = OciErrors.response(ErrorCode.NAME_UNKNOWN, 404, "no such admin endpoint", head);
    }
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    var f = ctx.writeAndFlush(r);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void admin(ChannelHandlerContext ctx, FullHttpRequest req, String path) {
    boolean keepAlive = HttpUtil.isKeepAlive(req);
    String method = req.method().name();
    String uri = req.uri();
    if (!authorized(req)) {
      log.info("admin request {} {} from {} without a valid token", method, path,
          ctx.channel().remoteAddress());
      write(ctx, new AdminApi.Answer(401, AdminApi.error(401, "admin token required"), null),
          keepAlive);
      return;
    }
    if (token == null && !loopback) {
      log.warn("admin request {} {} from {} refused: the admin listener is not on loopback and"
          + " admin.token is not set", method, path, ctx.channel().remoteAddress());
      write(ctx, new AdminApi.Answer(403, AdminApi.error(403, "the admin API needs admin.token"
          + " (or tokenFile/tokenEnv) when the admin listener is not on a loopback address"),
          null), keepAlive);
      return;
    }
    byte[] body = new byte[req.content().readableBytes()];
    req.content().getBytes(req.content().readerIndex(), body);
    api.handle(method, uri, body)
        .thenAccept(a -> ctx.executor().execute(() -> write(ctx, a, keepAlive)));
  }

  private static void write(ChannelHandlerContext ctx, AdminApi.Answer a, boolean keepAlive) {
    byte[] json;
    try {
      json = AdminApi.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(a.body());
    } catch (java.io.IOException e) {
      log.error("cannot render an admin answer: {}", e.toString(), e);
      json = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"internal error\"}]}"
          .getBytes(StandardCharsets.UTF_8);
    }
    FullHttpResponse r = new io.netty.handler.codec.http.DefaultFullHttpResponse(
        io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
        io.netty.handler.codec.http.HttpResponseStatus.valueOf(a.status()),
        io.netty.buffer.Unpooled.wrappedBuffer(json));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json; charset=utf-8")
        .set(HttpHeaderNames.CONTENT_LENGTH, json.length)
        .set(HttpHeaderNames.CACHE_CONTROL, "no-store");
    if (a.status() == 401) {
      r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"wharf admin\"");
    }
    if (a.allow() != null) {
      r.headers().set(HttpHeaderNames.ALLOW, a.allow());
    }
    if (!keepAlive) {
      r.headers().set(HttpHeaderNames.CONNECTION, "close");
    }
    var f = ctx.writeAndFlush(r);
    if (!keepAlive) {
      f.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private boolean authorized(FullHttpRequest req) {
    if (token == null) {
      return true;
    }
    String h = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    return h != null && MessageDigest.isEqual(token, h.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    log.debug("admin connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
    ctx.close();
  }
}
