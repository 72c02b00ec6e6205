import { Link, useTitle } from "../router.tsx";

/** An unknown console route. */
export function NotFoundPage() {
  useTitle("Not found");
  return (
    <>
      <h1>Page not found</h1>
      <p>
        There is no console page here. <Link to="/">Go to the dashboard</Link>.
      </p>
    </>
  );
}
