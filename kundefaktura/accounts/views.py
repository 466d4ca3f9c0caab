from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from .roles import ROLE_HOME


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@login_required
def home(request):
    """Send each role to its own start page."""
    role = request.user.role
    if role:
        return redirect(ROLE_HOME[role])
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("no_role")


# No role needed: anonymous users go to the login page (login_required), others to their start page.
home.public = True
