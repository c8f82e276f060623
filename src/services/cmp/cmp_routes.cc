#include "services/cmp/cmp_routes.h"

namespace gmpki::cmp {

Status AddCmpRoutes(net::Router& router, CmpService& cmp) {
  return router.Add("POST", "/cmp/{ca}",
                    [&cmp](const net::HttpRequest& r, const net::PathParams& p) {
                      auto rsp = cmp.Handle(p.at("ca"), ToBytes(r.body));
                      if (!rsp.ok()) return net::ProblemResponse(rsp.error(), r.path);
                      return net::TextResponse(200, ToString(rsp->der),
                                               kPkixCmpContentType);
                    });
}

}  // namespace gmpki::cmp
