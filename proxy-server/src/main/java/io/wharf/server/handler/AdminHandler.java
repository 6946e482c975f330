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
 * The admin listener: health probes open, {@code /metrics} behind the admin token when one is
 * configured. Stateless, so one instance serves every admin connection.
 */
@ChannelHandler.Sharable
public final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);

  private final Services services;
  private final byte[] token;

  public AdminHandler(Services services, String token) {
    this.services = services;
    this.token = token == null ? null : ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
    boolean head = req.method().equals(HttpMethod.HEAD);
    String path = req.uri().split("\\?", 2)[0];
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
