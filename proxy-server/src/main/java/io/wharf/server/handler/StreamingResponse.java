package io.wharf.server.handler;

/** A blob response being streamed on one connection (event loop only). */
interface StreamingResponse {

  /** Sends the headers and starts the body. */
  void start();

  /** True while a write is out but not yet taken by the client: a write stall is the client's. */
  boolean writePending();

  /** The client went away or the channel closed: release everything, report the end. */
  void abort();

  /** How the handler learns that the response ended. */
  interface Listener {
    /** {@code source}: disk, inflight, passthrough (the {@code wharf_served_bytes} tag). */
    void finished(StreamingResponse r, String source, int status, long bytes, boolean ok);
  }
}
