package io.wharf.server.handler;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.wharf.core.access.AccessControl;
import io.wharf.core.fetch.BlobReader;
import io.wharf.core.manifest.Manifest;
import io.wharf.core.oci.ErrorCode;
import io.wharf.core.oci.MediaTypes;
import io.wharf.core.peer.Peers;
import io.wharf.core.upstream.RawResponse;
import io.wharf.core.upstream.UpstreamRouter;
import io.wharf.server.Services;
import io.wharf.server.http.OciErrors;
import io.wharf.server.http.OpsResponses;
import io.wharf.server.http.Ranges;
import io.wharf.server.http.LogSafe;
import io.wharf.server.http.RequestIds;
import io.wharf.server.route.Route;
import io.wharf.server.route.RouteParser;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The OCI pull API for one connection. Requests are answered one at a time in arrival order
 * (pipelined requests wait in a short queue); request bodies are never read, only released.
 * Core futures complete on other threads and are brought back to this channel's event loop before
 * anything touches the channel.
 */
public final class RegistryHandler extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(RegistryHandler.class);
  private static final Logger access = LoggerFactory.getLogger("io.wharf.access");
  private static final int MAX_PIPELINED = 16;
  private static final String API_VERSION = "Docker-Distribution-API-Version";

  private final Services services;
  private final ArrayDeque<HttpRequest> pending = new ArrayDeque<>();
  private ChannelHandlerContext ctx;
  private boolean busy;
  private StreamingResponse streaming;
  private HttpRequest current;
  private String routeLabel;
  private long startNanos;
  /** For the access log: the request's id, where its bytes came from, who was let in. */
  private String requestId;
  private String servedFrom;
  private String user;

  private final TokenEndpoint tokenEndpoint;
  /** A {@code POST /token/...} whose form body is still arriving, and that body so far. */
  private HttpRequest tokenPost;
  private java.io.ByteArrayOutputStream tokenPostBody;
  /** Complete token POST bodies (null: too large) of requests not yet answered. */
  private final java.util.Map<HttpRequest, byte[]> tokenPostBodies = new java.util.IdentityHashMap<>();

  private boolean smallWritePending;
  /** Whether this connection was counted against a client key (identity-keyed limits). */
  private boolean connectionClaimed;
  private io.netty.util.concurrent.ScheduledFuture<?> requestDeadline;

  public RegistryHandler(Services services) {
    this.services = services;
    this.tokenEndpoint = new TokenEndpoint(services);
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    this.ctx = ctx;
    armRequestDeadline();
  }

  /**
   * An idle connection must deliver a complete request line and headers within {@code
   * idleTimeout}, counted from when it became idle: this closes idle keep-alive connections and
   * slowloris clients that trickle header bytes alike.
   */
  private void armRequestDeadline() {
    cancelRequestDeadline();
    long ms = services.config().server().idleTimeout().toMillis();
    requestDeadline = ctx.executor().schedule(() -> {
      if (!busy && ctx.channel().isActive()) {
        log.debug("closing {}: no complete request within {} ms", ctx.channel().remoteAddress(), ms);
        ctx.close();
      }
    }, ms, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private void cancelRequestDeadline() {
    if (requestDeadline != null) {
      requestDeadline.cancel(false);
      requestDeadline = null;
    }
  }

  /**
   * Runs a continuation on the event loop so that a bug in it can never leave a request without
   * an answer: before headers are sent the client gets a 500, after them the connection is cut.
   */
  private void safely(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      log.error("internal error answering {}: {}", current == null ? "a request" : current.uri(),
          e.toString(), e);
      if (busy && streaming == null && !smallWritePending) {
        fail(e);
      } else {
        ctx.close();
      }
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof HttpRequest req) {
      cancelRequestDeadline();
      if (req.decoderResult().isFailure()) {
        ReferenceCountUtil.release(msg);
        badRequestAndClose(req.decoderResult().cause());
        return;
      }
      if (req.method().equals(HttpMethod.POST) && TokenEndpoint.matches(req.uri())) {
        // The one request with a body (an OAuth2 form): dispatched once the body is complete.
        tokenPost = req;
        tokenPostBody = new java.io.ByteArrayOutputStream();
      } else {
        dispatch(req);
      }
    }
    if (msg instanceof HttpContent c) {
      if (tokenPost != null) {
        collectTokenPost(c);
      }
      // Pull API requests have no body worth reading.
      ReferenceCountUtil.release(msg);
    }
  }

  private void collectTokenPost(HttpContent c) {
    int n = c.content().readableBytes();
    if (tokenPostBody != null) {
      if (tokenPostBody.size() + n > TokenEndpoint.MAX_BODY) {
        tokenPostBody = null;
      } else {
        byte[] part = new byte[n];
        c.content().getBytes(c.content().readerIndex(), part);
        tokenPostBody.write(part, 0, n);
      }
    }
    if (c instanceof io.netty.handler.codec.http.LastHttpContent) {
      HttpRequest req = tokenPost;
      tokenPostBodies.put(req, tokenPostBody == null ? null : tokenPostBody.toByteArray());
      tokenPost = null;
      tokenPostBody = null;
      dispatch(req);
    }
  }

  private void dispatch(HttpRequest req) {
    if (busy) {
      if (pending.size() >= MAX_PIPELINED) {
        log.info("closing connection from {}: more than {} pipelined requests",
            ctx.channel().remoteAddress(), MAX_PIPELINED);
        ctx.close();
      } else {
        pending.add(req);
      }
    } else {
      handle(req);
    }
  }

  private void badRequestAndClose(Throwable cause) {
    String why = cause == null ? "malformed request" : cause.getMessage();
    // Debug only: skopeo and podman probe every registry with a TLS ClientHello first, which
    // arrives here as a malformed request line once per pull.
    log.debug("malformed request from {}: {}", ctx.channel().remoteAddress(), why);
    FullHttpResponse r = OciErrors.response(ErrorCode.UNSUPPORTED, 400,
        "malformed HTTP request: " + (why == null ? "bad syntax" : why), false);
    r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
        .set(API_VERSION, "registry/2.0");
    // Not the previous request's id: this answer belongs to a request that could not be read.
    ctx.channel().attr(RequestIds.CURRENT).set(RequestIds.forRequest(null));
    ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
  }

  private void handle(HttpRequest req) {
    busy = true;
    current = req;
    routeLabel = "unknown";
    startNanos = System.nanoTime();
    requestId = RequestIds.forRequest(req.headers().get(RequestIds.HEADER));
    ctx.channel().attr(RequestIds.CURRENT).set(requestId);
    servedFrom = "-";
    user = null;
    services.responseStarted();
    boolean head = req.method().equals(HttpMethod.HEAD);
    if (TokenEndpoint.matches(req.uri())) {
      routeLabel = "token";
      token(req);
      return;
    }
    Route route;
    try {
      route = RouteParser.parse(req.uri());
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    routeLabel = route.label();
    if (!req.method().equals(HttpMethod.GET) && !head) {
      unsupported(req.method() + " is not supported: Wharf is a read-only pull-through mirror");
      return;
    }
    try {
      if (route instanceof Route.Base) {
        base(head);
      } else if (route instanceof Route.Manifest m) {
        authorized(m.ns(), m.name(), () -> manifest(m, head));
      } else if (route instanceof Route.Blob b) {
        blobRequest(b, head);
      } else if (route instanceof Route.Tags t) {
        authorized(t.ns(), t.name(), () -> passthrough(t.ns(), t.name(), head, t));
      } else if (route instanceof Route.Referrers r) {
        authorized(r.ns(), r.name(), () -> passthrough(r.ns(), r.name(), head, r));
      } else if (route instanceof Route.Unsupported u) {
        unsupported(u.what() + " is not supported: Wharf is a read-only pull-through mirror");
      } else if (route instanceof Route.Metrics) {
        metrics(head);
      } else if (route instanceof Route.Health h) {
        health(h, head);
      } else {
        sendError(ErrorCode.NAME_UNKNOWN, 404, "no such API endpoint");
      }
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  /**
   * The request's {@code Accept}, all header lines joined: podman, skopeo and CRI-O send one line
   * per media type, which means the same as one comma-separated line (RFC 9110 §5.3).
   */
  private String accept() {
    java.util.List<String> all = current.headers().getAll(HttpHeaderNames.ACCEPT);
    return all.isEmpty() ? null : String.join(", ", all);
  }

  // ---- access control ----

  private java.net.InetAddress clientAddress() {
    return ((java.net.InetSocketAddress) ctx.channel().remoteAddress()).getAddress();
  }

  /**
   * Runs {@code proceed} if the client may pull through the upstream this name routes to. With
   * limits keyed by address the rate limit is taken before the (deliberately slow) password
   * check, so failed logins count against it too; keyed by identity it is taken after, and a
   * refused request is charged to the client's address.
   */
  private void authorized(String ns, io.wharf.core.oci.RepositoryName name, Runnable proceed) {
    AccessControl access = services.access();
    UpstreamRouter.Routed routed = services.router().route(ns, name);
    String upstream = routed.upstream();
    if (access.allOpen()) {
      withinLimits(upstream, null, proceed);
      return;
    }
    boolean byIdentity = services.limits().byIdentity();
    Runnable check = () -> {
      HttpRequest forRequest = current;
      access.check(routed, clientAddress(), current.headers().get(HttpHeaderNames.AUTHORIZATION),
              name.value())
          .whenCompleteAsync((d, err) -> safely(() -> {
            if (current != forRequest) {
              return; // the client went away while its credentials were checked
            }
            if (err != null) {
              fail(err);
            } else if (d.outcome() == AccessControl.Outcome.ALLOWED) {
              user = d.user();
              if (byIdentity) {
                withinLimits(upstream, d.user(), proceed);
              } else {
                proceed.run();
              }
            } else if (byIdentity) {
              withinRate(services.limits().key(clientAddress(), upstream, null),
                  () -> refuse(d, upstream, name.value()));
            } else {
              refuse(d, upstream, name.value());
            }
          }), ctx.executor());
    };
    if (byIdentity) {
      check.run();
    } else {
      withinLimits(upstream, null, check);
    }
  }

  private void token(HttpRequest req) {
    byte[] body = tokenPostBodies.remove(req);
    // Every token request checks a password: it always counts against the client's address.
    withinRate(services.limits().key(clientAddress(), null, null), () -> tokenEndpoint.handle(req, body, clientAddress())
        .whenCompleteAsync((r, err) -> safely(() -> {
          if (current != req) {
            if (r != null) {
              r.release();
            }
            return;
          }
          if (err != null) {
            fail(err);
          } else {
            send(r);
          }
        }), ctx.executor()));
  }

  /**
   * Runs {@code proceed} unless the client (its address, or its verified {@code user} when limits
   * are keyed by identity) is over its request rate (429) or, keyed by identity, its connection
   * cap (503 and close).
   */
  private void withinLimits(String upstream, String user, Runnable proceed) {
    io.wharf.server.ClientLimits limits = services.limits();
    String key = limits.key(clientAddress(), upstream, user);
    if (!connectionClaimed) {
      connectionClaimed = true;
      String refused = limits.claimConnection(ctx.channel(), key);
      if (refused != null) {
        log.warn("refusing a connection from {} ({}): {}", clientAddress().getHostAddress(), key,
            refused);
        FullHttpResponse r = OciErrors.response(ErrorCode.UNAVAILABLE, 503, refused,
            current.method().equals(HttpMethod.HEAD));
        r.headers().set(HttpHeaderNames.RETRY_AFTER, 1)
            .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        send(r);
        return;
      }
    }
    withinRate(key, proceed);
  }

  /** Runs {@code proceed} unless {@code key} is over its request rate (429 with Retry-After). */
  private void withinRate(String key, Runnable proceed) {
    long wait = services.limits().tryRequest(key);
    if (wait > 0) {
      log.info("rate limited {} ({}): {} {}", clientAddress().getHostAddress(), LogSafe.text(key),
          current.method(), LogSafe.text(current.uri()));
      FullHttpResponse r = OciErrors.response(ErrorCode.TOOMANYREQUESTS, 429,
          "too many requests from this client; retry after " + wait + " s",
          current.method().equals(HttpMethod.HEAD));
      r.headers().set(HttpHeaderNames.RETRY_AFTER, wait);
      send(r);
      return;
    }
    proceed.run();
  }

  private void base(boolean head) {
    if (services.access().allOpen()) {
      sendJson(200, "{}".getBytes(StandardCharsets.UTF_8), head);
      return;
    }
    withinRate(services.limits().key(clientAddress(), null, null), () -> baseChecked(head));
  }

  private void baseChecked(boolean head) {
    HttpRequest forRequest = current;
    services.access().checkAny(clientAddress(), current.headers().get(HttpHeaderNames.AUTHORIZATION))
        .whenCompleteAsync((d, err) -> safely(() -> {
          if (current != forRequest) {
            return;
          }
          if (err != null) {
            fail(err);
          } else if (d.outcome() == AccessControl.Outcome.ALLOWED) {
            sendJson(200, "{}".getBytes(StandardCharsets.UTF_8), head);
          } else {
            refuse(d, services.access().firstAuthenticatedUpstream(), null);
          }
        }), ctx.executor());
  }

  private void refuse(AccessControl.Decision d, String upstream, String repository) {
    log.info("refused {} {} from {}{}: {}", current.method(), LogSafe.text(current.uri()),
        clientAddress().getHostAddress(),
        d.user() == null ? "" : " (user " + LogSafe.text(d.user()) + ")", d.reason());
    boolean head = current.method().equals(HttpMethod.HEAD);
    FullHttpResponse r;
    if (d.outcome() == AccessControl.Outcome.BUSY) {
      r = OciErrors.response(ErrorCode.UNAVAILABLE, 503,
          "authentication is busy; retry shortly", head);
      r.headers().set(HttpHeaderNames.RETRY_AFTER, 1);
    } else if (d.outcome() == AccessControl.Outcome.FORBIDDEN) {
      r = OciErrors.response(ErrorCode.DENIED, 403, "access denied: " + d.reason(), head);
    } else {
      r = OciErrors.response(ErrorCode.UNAUTHORIZED, 401, "authentication required", head);
      r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, services.access().usesBearer(upstream)
          ? TokenEndpoint.challenge(services, current, upstream, repository)
          : "Basic realm=\"" + AccessControl.realm(upstream) + "\", charset=\"UTF-8\"");
    }
    send(r);
  }

  private void unsupported(String message) {
    FullHttpResponse r = OciErrors.response(ErrorCode.UNSUPPORTED, 405, message,
        current.method().equals(HttpMethod.HEAD));
    r.headers().set(HttpHeaderNames.ALLOW, "GET, HEAD");
    send(r);
  }

  // ---- manifests ----

  private void manifest(Route.Manifest m, boolean head) {
    UpstreamRouter.Routed routed = services.router().route(m.ns(), m.name());
    String accept = accept();
    services.repositories()
        .manifest(routed, m.reference(), accept)
        .whenCompleteAsync((man, err) -> safely(() -> {
          if (err != null) {
            fail(err);
          } else if (!MediaTypes.accepts(accept, man.mediaType())) {
            // Never hand a client a manifest type it did not ask for (it could not parse it).
            sendError(ErrorCode.MANIFEST_UNKNOWN, 404, "manifest " + m.name() + ":"
                + m.reference() + " is " + man.mediaType() + ", which the request's Accept header"
                + " does not include");
          } else {
            sendManifest(man, head);
          }
        }), ctx.executor());
  }

  private void sendManifest(Manifest man, boolean head) {
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.OK, head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(man.body()));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, man.mediaType())
        .set(HttpHeaderNames.CONTENT_LENGTH, man.body().length)
        .set("Docker-Content-Digest", man.digest().toString())
        .set(HttpHeaderNames.ETAG, "\"" + man.digest() + "\"");
    servedFrom = "manifest";
    if (man.stale()) {
      r.headers().set(HttpHeaderNames.WARNING, "110 wharf \"Response is Stale\"");
      servedFrom = "manifest-stale";
    }
    send(r);
  }

  // ---- blobs ----

  /**
   * A blob request from a client, or from a peer (it carries {@link Peers#HOP_HEADER}): a peer's
   * request is served from the store or the upstream, never forwarded to another peer; with a
   * peer token configured it must carry the token, and then skips client access control (the
   * peer checked its own client). One that comes back to the instance that sent it is a loop.
   */
  private void blobRequest(Route.Blob b, boolean head) {
    if (current.headers().get(Peers.HOP_HEADER) == null) {
      authorized(b.ns(), b.name(), () -> blob(b, head, false));
      return;
    }
    Peers peers = services.peers();
    if (peers != null && peers.instanceId().equals(current.headers().get(Peers.FROM_HEADER))) {
      sendError(ErrorCode.UNSUPPORTED, 508, "this peer request came back to the instance that"
          + " sent it: a member of peers names this instance (set peers.self)");
      return;
    }
    if (peers != null && peers.requiresToken()) {
      if (!peers.admits(current.headers().get(Peers.TOKEN_HEADER))) {
        log.warn("refused peer request {} from {}: missing or wrong {}", current.uri(),
            clientAddress().getHostAddress(), Peers.TOKEN_HEADER);
        sendError(ErrorCode.UNAUTHORIZED, 401, "peer request without a valid "
            + Peers.TOKEN_HEADER);
        return;
      }
      blob(b, head, true);
      return;
    }
    authorized(b.ns(), b.name(), () -> blob(b, head, true));
  }

  private void blob(Route.Blob b, boolean head, boolean fromPeer) {
    UpstreamRouter.Routed routed = services.router().route(b.ns(), b.name());
    if (head) {
      services.repositories()
          .blobSize(routed, b.digest())
          .whenCompleteAsync((size, err) -> safely(() -> {
            if (err != null) {
              fail(err);
              return;
            }
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.OK, Unpooled.EMPTY_BUFFER);
            r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, "application/octet-stream")
                .set("Docker-Content-Digest", b.digest().toString())
                .set(HttpHeaderNames.ACCEPT_RANGES, "bytes")
                .set(HttpHeaderNames.ETAG, "\"" + b.digest() + "\"");
            if (size >= 0) {
              r.headers().set(HttpHeaderNames.CONTENT_LENGTH, size);
            }
            send(r);
          }), ctx.executor());
      return;
    }
    Ranges.Spec range = Ranges.parse(current.headers().get(HttpHeaderNames.RANGE));
    HttpRequest forRequest = current;
    services.repositories()
        .openBlob(routed, b.digest(), fromPeer)
        .whenCompleteAsync((reader, err) -> safely(() -> {
          if (err != null) {
            fail(err);
            return;
          }
          if (!ctx.channel().isActive() || current != forRequest) {
            reader.close();
            completeRequest(499, 0);
            return;
          }
          streaming = reader.source() == BlobReader.Source.PASSTHROUGH
              ? new PassthroughResponder(ctx, reader, b.digest(), this::blobFinished,
                  this::firstByte)
              : new BlobResponder(ctx, reader, b.digest(), range, this::blobFinished,
                  services.diskExecutor(), this::firstByte);
          streaming.start();
        }), ctx.executor());
  }

  private void blobFinished(StreamingResponse r, String source, int status, long bytes,
      boolean ok) {
    if (streaming != r) {
      return;
    }
    streaming = null;
    servedFrom = source;
    services.meters().servedBytes(source, bytes);
    completeRequest(ok ? status : 499, bytes);
  }

  // ---- tags list and referrers: small, passed through ----

  private void passthrough(String ns, io.wharf.core.oci.RepositoryName name, boolean head,
      Route route) {
    UpstreamRouter.Routed routed = services.router().route(ns, name);
    String accept = accept();
    java.util.concurrent.CompletableFuture<RawResponse> answer;
    if (route instanceof Route.Referrers r) {
      answer = services.referrers().get(routed.client(), routed.repository(), r.digest(),
          stripNs(r.query()), accept);
    } else {
      answer = routed.client().get(routed.repository(), "tags/list",
          stripNs(((Route.Tags) route).query()), accept);
    }
    answer.whenCompleteAsync((raw, err) -> safely(() -> {
      if (err != null) {
        fail(err);
        return;
      }
      servedFrom = "upstream";
      sendRaw(raw, head, name, ns, route);
    }), ctx.executor());
  }

  private void sendRaw(RawResponse raw, boolean head, io.wharf.core.oci.RepositoryName clientName,
      String ns, Route route) {
    String upstreamType = raw.header("content-type");
    if (raw.status() == 404 && (upstreamType == null || !upstreamType.contains("json"))) {
      // Some registries answer 404 in plain text; clients get OCI error JSON from Wharf.
      sendError(route instanceof Route.Tags ? ErrorCode.NAME_UNKNOWN : ErrorCode.MANIFEST_UNKNOWN,
          404, route instanceof Route.Tags ? "repository " + clientName + " not found upstream"
              : "no referrers for that digest upstream");
      return;
    }
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(raw.status()),
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(raw.body()));
    String type = raw.header("content-type");
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, type == null ? "application/json" : type)
        .set(HttpHeaderNames.CONTENT_LENGTH, raw.body().length);
    String link = raw.header("link");
    if (link != null && route instanceof Route.Tags) {
      String rewritten = rewriteLink(link, clientName, ns);
      if (rewritten != null) {
        r.headers().set("Link", rewritten);
      }
    }
    send(r);
  }

  /**
   * Points a {@code Link: <...?last=x&n=y>; rel="next"} at this instance, so the client fetches
   * the next page through Wharf under the name it used.
   */
  String rewriteLink(String link, io.wharf.core.oci.RepositoryName clientName, String ns) {
    int lt = link.indexOf('<');
    int gt = link.indexOf('>', lt + 1);
    if (lt < 0 || gt < 0) {
      return null;
    }
    String target = link.substring(lt + 1, gt);
    int q = target.indexOf('?');
    String query = q < 0 ? "" : target.substring(q + 1);
    if (ns != null && !ns.isEmpty()) {
      query = query.isEmpty() ? "ns=" + ns : query + "&ns=" + ns;
    }
    String base = services.config().effectiveExternalUrl();
    return "<" + base + "/v2/" + clientName + "/tags/list" + (query.isEmpty() ? "" : "?" + query)
        + ">" + link.substring(gt + 1);
  }

  private static String stripNs(String query) {
    if (query == null || query.isEmpty()) {
      return "";
    }
    StringBuilder sb = new StringBuilder();
    for (String part : query.split("&")) {
      if (part.equals("ns") || part.startsWith("ns=") || part.isEmpty()) {
        continue;
      }
      sb.append(sb.length() == 0 ? "" : "&").append(part);
    }
    return sb.toString();
  }

  // ---- operational endpoints ----

  private void metrics(boolean head) {
    if (services.config().admin() != null && !services.config().admin().metricsOnMainPort()) {
      sendError(ErrorCode.NAME_UNKNOWN, 404, "metrics are served on the admin listener");
      return;
    }
    send(OpsResponses.metrics(services, head));
  }

  private void health(Route.Health h, boolean head) {
    send(OpsResponses.health(services, h.readiness(), head));
  }

  // ---- response plumbing ----

  private void sendJson(int status, byte[] body, boolean head) {
    DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
        HttpResponseStatus.valueOf(status),
        head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
    r.headers()
        .set(HttpHeaderNames.CONTENT_TYPE, "application/json")
        .set(HttpHeaderNames.CONTENT_LENGTH, body.length);
    send(r);
  }

  private void sendError(ErrorCode code, int status, String message) {
    send(OciErrors.response(code, status, message, current.method().equals(HttpMethod.HEAD)));
  }

  private void fail(Throwable err) {
    if (current == null) {
      return;
    }
    OciErrors.Mapped m = OciErrors.mapAndLog(err, current.method().name(), current.uri());
    send(OciErrors.response(m, current.method().equals(HttpMethod.HEAD)));
  }

  private void send(FullHttpResponse r) {
    if (!ctx.channel().isActive()) {
      r.release();
      completeRequest(499, 0);
      return;
    }
    r.headers().set(API_VERSION, "registry/2.0");
    if (services.isDraining()) {
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
    }
    int status = r.status().code();
    long bytes = r.content().readableBytes();
    boolean keepAlive = HttpUtil.isKeepAlive(current) && !services.isDraining();
    smallWritePending = true;
    firstByte();
    ctx.writeAndFlush(r).addListener(f -> {
      smallWritePending = false;
      completeRequest(status, bytes);
      if (!keepAlive) {
        ctx.close();
      }
    });
  }

  private void firstByte() {
    services.meters().timeToFirstByte(routeLabel, Duration.ofNanos(System.nanoTime() - startNanos));
  }

  private void completeRequest(int status, long bytes) {
    if (!busy) {
      return;
    }
    HttpRequest req = current;
    Duration took = Duration.ofNanos(System.nanoTime() - startNanos);
    services.meters().request(routeLabel, req.method().name(), status, took);
    if (access.isInfoEnabled()) {
      logAccess(req, status, bytes, took.toMillis());
    }
    busy = false;
    current = null;
    services.responseEnded();
    if (services.isDraining()) {
      ctx.close();
      return;
    }
    HttpRequest next = pending.poll();
    if (next != null) {
      handle(next);
    } else {
      armRequestDeadline();
    }
  }

  /**
   * One line per answered request on logger {@code io.wharf.access}: readable in the text format,
   * and the same fields as key-value pairs for the JSON format.
   */
  private void logAccess(HttpRequest req, int status, long bytes, long millis) {
    java.net.SocketAddress remote = ctx.channel().remoteAddress();
    String client = remote instanceof java.net.InetSocketAddress a
        ? a.getAddress().getHostAddress() : String.valueOf(remote);
    var event = access.atInfo()
        .addKeyValue("request_id", requestId)
        .addKeyValue("client", client);
    if (user != null) {
      event = event.addKeyValue("user", user);
    }
    event
        .addKeyValue("method", req.method().name())
        .addKeyValue("uri", req.uri())
        .addKeyValue("route", routeLabel)
        .addKeyValue("status", status)
        .addKeyValue("bytes", bytes)
        .addKeyValue("source", servedFrom)
        .addKeyValue("duration_ms", millis)
        .log("{} {} {} {} {} {} {}B {}ms source={}", requestId, client,
            user == null ? "-" : LogSafe.text(user), req.method(), LogSafe.text(req.uri()), status,
            bytes, millis, servedFrom);
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt == Services.DRAIN) {
      if (!busy) {
        ctx.close();
      }
      return;
    }
    if (evt instanceof IdleStateEvent e) {
      boolean stalled = smallWritePending || (streaming != null && streaming.writePending());
      if (e.state() == IdleState.WRITER_IDLE && stalled) {
        log.info("dropping client {}: it took no bytes for {} s", ctx.channel().remoteAddress(),
            services.config().server().writeStallTimeout().toSeconds());
        ctx.close();
        return;
      }
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    cancelRequestDeadline();
    if (streaming != null) {
      streaming.abort();
    } else if (busy) {
      // A response was being prepared (upstream fetch); it is dropped when it arrives.
      completeRequest(499, 0);
    }
    pending.clear();
    tokenPostBodies.clear();
    tokenPost = null;
    super.channelInactive(ctx);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    String msg = cause.getMessage() == null ? cause.toString() : cause.getMessage();
    if (cause instanceof io.netty.handler.codec.DecoderException
        && cause.getCause() instanceof javax.net.ssl.SSLException) {
      // A client that does not trust the certificate, or speaks plain HTTP to the TLS port.
      log.info("TLS handshake with {} failed: {}", ctx.channel().remoteAddress(),
          cause.getCause().getMessage());
    } else if (msg.contains("Connection reset") || msg.contains("Broken pipe")) {
      log.debug("client {} went away: {}", ctx.channel().remoteAddress(), msg);
    } else {
      log.warn("connection {} failed: {}", ctx.channel().remoteAddress(), msg);
    }
    ctx.close();
  }
}
