// VTK picture of a posture (label `render`: runs under xvfb-run -a).
#include <gtest/gtest.h>
#include <vtkImageData.h>
#include <vtkNew.h>
#include <vtkPNGReader.h>

#include <filesystem>

#include "lumbosim/io/yaml_model.hpp"
#include "lumbosim/io/yaml_postures.hpp"
#include "lumbosim/model/compile.hpp"
#include "lumbosim/vtk/render.hpp"

using namespace lumbosim;

TEST(Render, SagittalPictureOfASittingPosture) {
  const Model m = compile(io::load_model_spec(std::string(LUMBOSIM_SOURCE_DIR) + "/models/lumbopelvic.yaml"));
  const auto postures = io::load_postures(std::string(LUMBOSIM_SOURCE_DIR) + "/models/postures.yaml");
  const PostureSpec* sit = nullptr;
  for (const auto& p : postures)
    if (p.name == "sitting_upright") sit = &p;
  ASSERT_NE(sit, nullptr);
  PostureSolver solver(m, *sit);
  const PostureResult r = solver.solve();
  const auto path = (std::filesystem::temp_directory_path() / "lumbosim_render_test.png").string();
  std::filesystem::remove(path);
  viz::RenderOptions opt;
  opt.width = 400;
  opt.height = 500;
  viz::render_posture_png(path, m, *sit, r, opt);
  ASSERT_TRUE(std::filesystem::exists(path));
  vtkNew<vtkPNGReader> reader;
  reader->SetFileName(path.c_str());
  reader->Update();
  int dims[3];
  reader->GetOutput()->GetDimensions(dims);
  EXPECT_EQ(dims[0], 400);
  EXPECT_EQ(dims[1], 500);
  // the body is drawn: a good share of the pixels is not background white
  long drawn = 0;
  for (int y = 0; y < dims[1]; ++y)
    for (int x = 0; x < dims[0]; ++x) {
      const auto* px = static_cast<unsigned char*>(reader->GetOutput()->GetScalarPointer(x, y, 0));
      if (px[0] < 240 || px[1] < 240 || px[2] < 240) ++drawn;
    }
  EXPECT_GT(drawn, 4000);
  std::filesystem::remove(path);
}
