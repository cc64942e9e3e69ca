// LaneOwnership: which ordering lanes this instance handles now. With several instances on one
// Bus (Redis), lanes are hashed into partitions and each partition is leased by one instance at a
// time: only its owner runs the lane's updates and sends the lane's outbox rows, which keeps each
// chat in order across instances (docs/architecture.md, "Several instances"). The embedded Bus
// owns every lane.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace botfn::storage {

// The partition of a lane key (bot + '/' + lane): FNV-1a, so every instance and every version
// agrees on it.
inline size_t lanePartition(std::string_view lane_key, size_t partitions) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : lane_key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return partitions ? static_cast<size_t>(h % partitions) : 0;
}

class LaneOwnership {
 public:
  virtual ~LaneOwnership() = default;
  // Whether this instance may run the lane's updates and send its outbox rows now.
  virtual bool ownsLane(std::string_view lane_key) const { return true; }
  // Changes whenever the set of owned lanes changes: the sender then drops the lanes it lost and
  // looks for the pending rows of the ones it gained.
  virtual uint64_t ownershipGeneration() const { return 0; }

  // The sender's part in handing a partition back: busy(in_partition) says whether any lane
  // in_partition accepts still has outbox rows here. A partition is handed back only once its
  // leased updates are acked and busy() is false, so its new owner neither re-sends a reply in
  // flight nor overtakes one. nullptr unregisters (returns once no call runs).
  using BusyLanes =
      std::function<bool(const std::function<bool(std::string_view lane_key)>& in_partition)>;
  virtual void setBusyLanes(BusyLanes) {}
};

// Every lane, always: one instance (the embedded Bus, tests).
inline LaneOwnership& everyLane() {
  static LaneOwnership all;
  return all;
}

}  // namespace botfn::storage
