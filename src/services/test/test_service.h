// The built-in "test" service: one HTTP request -> one task of a worker class.
//
//   GET|POST /task/<class>?name=value...   runs a task of <class> with those args and
//                                          the request body as input; 200 + output.
//   GET /whoami                            "host=<cluster.host> pid=<pid> client=<addr>:<port>"
//                                          (which front end answered; the front door's tests);
//                                          ?bytes=N appends N filler bytes (a large answer)
//   anything else                          404 with a short usage text.
// Fallback: when every worker tried failed, answers 200 with the request body (the
// "original content") and `X-Tacc-Fallback: <error kind>`, like TranSend returning the
// undistilled original. An undeclared class is 404, a bad argument 400.
#pragma once
