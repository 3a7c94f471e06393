// Optional parts of the HTTP API that other components own: push ingestion (POST /v1/observations,
// docs/ingest.md) and the snapshot stream (GET /v1/stream, docs/stream.md). ApiServer borrows them;
// a null member makes its route answer 404 with a problem saying it is not enabled.
#pragma once

namespace plumbline::daemon {

class Ingestor;
class SnapshotStream;

struct PushApi {
  Ingestor* ingest = nullptr;
  SnapshotStream* stream = nullptr;
};

}  // namespace plumbline::daemon
