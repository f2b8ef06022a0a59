#pragma once
/// @file render.hpp
/// Sagittal picture of a solved posture (VTK, off-screen; on Debian it needs an X display:
/// run under `xvfb-run -a`). Bones as tubes, vertebral bodies as boxes, muscles coloured by
/// force (blue: 0 N, red: >= 500 N), discs as spheres coloured by compression, contact planes
/// as lines, and a caption with the alignment and the L4-L5 load. View from the right:
/// anterior to the right, superior up.
#include <string>

#include "lumbosim/algorithm/posture.hpp"

namespace lumbosim::viz {

struct RenderOptions {
  int width = 900, height = 1100;
  std::string title;
};

/// Renders the posture to a PNG file (written to `<path>.tmp`, then renamed). Throws
/// std::runtime_error on failure.
void render_posture_png(const std::string& path, const Model& model, const PostureSpec& posture,
                        const PostureResult& result, const RenderOptions& options = {});

}  // namespace lumbosim::viz
