#include "lumbosim/vtk/render.hpp"

#include <vtkActor.h>
#include <vtkCamera.h>
#include <vtkCellArray.h>
#include <vtkCubeSource.h>
#include <vtkNew.h>
#include <vtkPNGWriter.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkPolyDataMapper.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkSphereSource.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>
#include <vtkTransform.h>
#include <vtkTubeFilter.h>
#include <vtkWindowToImageFilter.h>

#include <algorithm>
#include <cstdio>
#include <numbers>
#include <stdexcept>

#include "lumbosim/algorithm/kinematics.hpp"
#include "lumbosim/algorithm/passive.hpp"

namespace lumbosim::viz {
namespace {

constexpr double kDeg = 180.0 / std::numbers::pi;

void add_tube(vtkRenderer* ren, const std::vector<Vec3>& pts, double radius, const double rgb[3], double opacity = 1.0) {
  if (pts.size() < 2) return;
  vtkNew<vtkPoints> points;
  vtkNew<vtkCellArray> lines;
  lines->InsertNextCell(static_cast<vtkIdType>(pts.size()));
  for (size_t i = 0; i < pts.size(); ++i) {
    points->InsertNextPoint(pts[i].x(), pts[i].y(), pts[i].z());
    lines->InsertCellPoint(static_cast<vtkIdType>(i));
  }
  vtkNew<vtkPolyData> poly;
  poly->SetPoints(points);
  poly->SetLines(lines);
  vtkNew<vtkTubeFilter> tube;
  tube->SetInputData(poly);
  tube->SetRadius(radius);
  tube->SetNumberOfSides(12);
  vtkNew<vtkPolyDataMapper> mapper;
  mapper->SetInputConnection(tube->GetOutputPort());
  vtkNew<vtkActor> actor;
  actor->SetMapper(mapper);
  actor->GetProperty()->SetColor(rgb[0], rgb[1], rgb[2]);
  actor->GetProperty()->SetOpacity(opacity);
  ren->AddActor(actor);
}

void add_sphere(vtkRenderer* ren, const Vec3& c, double r, const double rgb[3]) {
  vtkNew<vtkSphereSource> s;
  s->SetCenter(c.x(), c.y(), c.z());
  s->SetRadius(r);
  s->SetThetaResolution(20);
  s->SetPhiResolution(20);
  vtkNew<vtkPolyDataMapper> mapper;
  mapper->SetInputConnection(s->GetOutputPort());
  vtkNew<vtkActor> actor;
  actor->SetMapper(mapper);
  actor->GetProperty()->SetColor(rgb[0], rgb[1], rgb[2]);
  ren->AddActor(actor);
}

void add_box(vtkRenderer* ren, const SE3& X, const Vec3& centre, const Vec3& size, const double rgb[3]) {
  vtkNew<vtkCubeSource> cube;
  cube->SetXLength(size.x());
  cube->SetYLength(size.y());
  cube->SetZLength(size.z());
  vtkNew<vtkTransform> t;
  double m[16];
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) m[i * 4 + j] = X.R(i, j);
    m[i * 4 + 3] = X.act_point(centre)[i];
  }
  m[12] = m[13] = m[14] = 0;
  m[15] = 1;
  t->SetMatrix(m);
  vtkNew<vtkPolyDataMapper> mapper;
  mapper->SetInputConnection(cube->GetOutputPort());
  vtkNew<vtkActor> actor;
  actor->SetMapper(mapper);
  actor->SetUserTransform(t);
  actor->GetProperty()->SetColor(rgb[0], rgb[1], rgb[2]);
  ren->AddActor(actor);
}

Vec3 landmark(const Model& m, const Data& d, const char* name) {
  const int l = m.find_landmark(name);
  if (l < 0) return Vec3::Constant(std::numeric_limits<double>::quiet_NaN());
  return point_position(d, m.landmark_body[static_cast<size_t>(l)], m.landmark_p_B[static_cast<size_t>(l)]);
}

}  // namespace

void render_posture_png(const std::string& path, const Model& m, const PostureSpec& posture, const PostureResult& r,
                        const RenderOptions& opt) {
  Data d(m);
  passive_forces(m, d, r.q);  // poses, paths and effective points
  vtkNew<vtkRenderer> ren;
  ren->SetBackground(1.0, 1.0, 1.0);
  const double bone[3] = {0.80, 0.76, 0.66}, vert[3] = {0.93, 0.90, 0.80}, dark[3] = {0.25, 0.25, 0.25};
  // legs and pelvis (right side in front)
  for (const char* s : {"_l", "_r"}) {
    const std::string side(s);
    const Vec3 hip = landmark(m, d, ("hip_center" + side).c_str()), knee = landmark(m, d, ("knee_center" + side).c_str()),
               ankle = landmark(m, d, ("ankle_center" + side).c_str()), heel = landmark(m, d, ("heel" + side).c_str()),
               toe = landmark(m, d, ("toe" + side).c_str());
    if (hip.allFinite() && knee.allFinite() && ankle.allFinite()) add_tube(ren, {hip, knee, ankle}, 0.012, bone);
    if (heel.allFinite() && toe.allFinite()) add_tube(ren, {ankle, heel, toe, ankle}, 0.008, bone);
  }
  const Vec3 asis = landmark(m, d, "ASIS_r"), psis = landmark(m, d, "PSIS_r"), hip = landmark(m, d, "hip_center_r"),
             s1 = landmark(m, d, "S1_superior_endplate"), isch = landmark(m, d, "ischial_tuberosity_r");
  if (asis.allFinite() && psis.allFinite() && hip.allFinite() && s1.allFinite())
    add_tube(ren, {asis, hip, isch.allFinite() ? isch : hip, psis, s1, asis}, 0.007, bone);
  // vertebral bodies: boxes between each vertebra's disc centres
  for (const char* v : {"L5", "L4", "L3", "L2", "L1"}) {
    const int b = m.find_body(v);
    if (b < 0) continue;
    add_box(ren, d.X_WB[static_cast<size_t>(b)], Vec3(0.0, 0.019, 0.0), Vec3(0.034, 0.026, 0.045), vert);
    add_tube(ren, {d.X_WB[static_cast<size_t>(b)].act_point(Vec3(-0.01, 0.02, 0)), d.X_WB[static_cast<size_t>(b)].act_point(Vec3(-0.075, 0.012, 0))},
             0.004, vert);
  }
  const int th = m.find_body("thorax");
  if (th >= 0) {
    const Vec3 c7 = landmark(m, d, "C7"), vx = landmark(m, d, "vertex");
    const Vec3 t12 = d.X_WB[static_cast<size_t>(th)].p;
    if (c7.allFinite() && vx.allFinite()) {
      add_tube(ren, {t12, c7, vx}, 0.01, bone);
      add_sphere(ren, vx - (vx - c7).normalized() * 0.09, 0.09, bone);  // head
    }
  }
  // muscles coloured by force
  for (int mu = 0; mu < m.nmuscle(); ++mu) {
    const int p = m.muscle_path[static_cast<size_t>(mu)];
    std::vector<Vec3> pts;
    for (int e = d.eff_adr[static_cast<size_t>(p)]; e < d.eff_adr[static_cast<size_t>(p)] + d.eff_num[static_cast<size_t>(p)]; ++e)
      pts.push_back(d.eff_p_W[static_cast<size_t>(e)]);
    const double f = std::clamp(r.muscle_forces.size() ? r.muscle_forces[mu] / 500.0 : 0.0, 0.0, 1.0);
    const double rgb[3] = {0.2 + 0.8 * f, 0.3 * (1 - f), 1.0 - 0.8 * f};
    add_tube(ren, pts, 0.002 + 0.004 * f, rgb, 0.85);
  }
  // discs coloured by compression (white 0 N, red >= 2000 N)
  for (const auto& L : r.loads) {
    const int c = m.find_coord(L.level + "_flexion");
    if (c < 0) continue;
    const double k = std::clamp(L.compression / 2000.0, 0.0, 1.0);
    const double rgb[3] = {1.0, 1.0 - 0.8 * k, 1.0 - 0.8 * k};
    add_sphere(ren, d.X_WM[static_cast<size_t>(c)].p, 0.009, rgb);
  }
  // environment surfaces: planes (finite ones to their extent) and cylinders (rolls)
  for (const auto& pc : posture.contacts) {
    if (pc.radius > 0.0) {
      std::vector<Vec3> ring;
      for (int k = 0; k <= 32; ++k) {
        const double a = 2.0 * std::numbers::pi * k / 32.0;
        ring.push_back(pc.point + pc.radius * Vec3(std::cos(a), std::sin(a), 0.0));
      }
      add_tube(ren, ring, 0.004, dark);
      continue;
    }
    const Vec3 n = pc.normal.normalized();
    const Vec3 t = n.cross(Vec3::UnitZ()).normalized();
    const double lo = std::max(pc.extent_min, -0.45), hi = std::min(pc.extent_max, 0.9);
    add_tube(ren, {pc.point + lo * t, pc.point + hi * t}, 0.006, dark);
  }
  // the soft tissue of the contact spheres that can touch (skin over ischia, thighs, back, feet)
  const double skin[3] = {0.93, 0.80, 0.70};
  for (const auto& c : r.contacts) {
    const auto i = static_cast<size_t>(c.sphere);
    add_sphere(ren, point_position(d, m.contact_body[i], m.contact_p_B[i]), m.contact_radius[i], skin);
  }
  // contact forces (normal plus friction), 0.4 m per kN, green
  const double green[3] = {0.1, 0.6, 0.2};
  for (const auto& c : r.contacts)
    if (c.force > 1.0) {
      const Vec3 f = c.force * c.n_W + c.friction * c.t_W;
      add_tube(ren, {c.p_W, c.p_W + 4e-4 * f}, 0.003, green);
    }
  // caption
  double l45c = 0, l45p = 0;
  for (const auto& L : r.loads)
    if (L.level == "L4_L5") { l45c = L.compression; l45p = L.idp * 1e-6; }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s  (%s)\npelvic tilt %.1f deg   lordosis L1-S1 %.1f deg   trunk %.1f deg\nL4-L5 compression %.0f N   IDP %.2f MPa",
                opt.title.empty() ? posture.name.c_str() : opt.title.c_str(), status_name(r.status),
                r.alignment.pelvic_tilt * kDeg, r.alignment.lumbar_lordosis * kDeg, r.trunk_inclination * kDeg, l45c, l45p);
  vtkNew<vtkTextActor> text;
  text->SetInput(buf);
  text->GetTextProperty()->SetFontSize(20);
  text->GetTextProperty()->SetColor(0.1, 0.1, 0.1);
  text->SetDisplayPosition(15, 15);
  ren->AddActor2D(text);
  // camera: from +Z (the right side), X anterior to the right, Y up
  ren->ResetCamera();
  vtkCamera* cam = ren->GetActiveCamera();
  cam->ParallelProjectionOn();
  double b[6];
  ren->ComputeVisiblePropBounds(b);
  const double cx = 0.5 * (b[0] + b[1]), cy = 0.5 * (b[2] + b[3]);
  cam->SetFocalPoint(cx, cy, 0.0);
  cam->SetPosition(cx, cy, 5.0);
  cam->SetViewUp(0.0, 1.0, 0.0);
  cam->SetParallelScale(0.55 * std::max(b[3] - b[2], (b[1] - b[0]) * opt.height / opt.width) + 0.05);
  ren->ResetCameraClippingRange();
  vtkNew<vtkRenderWindow> win;
  win->SetOffScreenRendering(1);
  win->AddRenderer(ren);
  win->SetSize(opt.width, opt.height);
  win->Render();
  vtkNew<vtkWindowToImageFilter> grab;
  grab->SetInput(win);
  grab->Update();
  const std::string tmp = path + ".tmp.png";
  vtkNew<vtkPNGWriter> writer;
  writer->SetFileName(tmp.c_str());
  writer->SetInputConnection(grab->GetOutputPort());
  writer->Write();
  if (writer->GetErrorCode() != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot write PNG " + path);
  }
}

}  // namespace lumbosim::viz
